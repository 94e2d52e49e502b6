"""The cutover's and the rollback's reports: the figures for the task's XCom, and Markdown."""
from __future__ import annotations

from sqlite_to_mysql.cutover.switch_actions import CAN
from sqlite_to_mysql.report import md_table


def key_figures(result: dict) -> dict:
    """The figures an operator looks for first (the task's XCom)."""
    keys = ("mode", "outcome", "frozen_seconds", "changes_applied", "drain_seconds", "switch_seconds", "summary",
            "report_dir", "switch_error", "safe_to_switch")
    brief = {k: result[k] for k in keys if k in result}
    if "verification" in result:
        brief["verification_ok"] = result["verification"]["ok"]
    return brief


def markdown(name: str, result: dict) -> str:
    """The cutover or rollback report as Markdown: timings first, then what was checked and switched."""
    lines = [f"# {name.capitalize()}: {result.get('outcome', name)}", ""]
    if result.get("error"):
        lines += [f"**Error:** {result['error']}", ""]
    for earlier in result.get("released") or []:
        if "held_seconds" in earlier:
            lines += [f"- An earlier {earlier['action'].split()[1]} freeze (left by run `{earlier['left_by']}`) held "
                      f"the application's writes for {earlier['held_seconds']:.1f}s, from {earlier['frozen_at']} "
                      f"{how_lifted(earlier)}.", ""]
    rows = [[label, result[k]["changes"] if isinstance(result.get(k), dict) else result.get(k)]
            for label, k in (("changes applied before the freeze", "catch_up"),
                             ("changes applied during the freeze", "drain"),
                             ("changes applied after the guard", "final_drain"))
            if k in result]
    rows += [[label, result[k]] for label, k in (("writes frozen (s)", "frozen_seconds"),
                                                  ("last changes applied in (s)", "drain_seconds"),
                                                  ("switch actions took (s)", "switch_seconds")) if k in result]
    lines += [md_table(["", "value"], rows), ""]
    check = result.get("verification")
    if check:
        lines += [f"## Verification: {'OK' if check['ok'] else 'FAILED'} ({check['seconds']}s)", "",
                  md_table(["table", "source rows", "target rows", "quarantined", "keys re-checked",
                            "ranges re-checked", "differing", "result"],
                           [[t["table"], t["source_rows"], t["target_rows"], t["quarantined"], t["keys_checked"],
                             t["ranges_checked"], t["differing_rows"], "OK" if t["ok"] else "FAIL"]
                            for t in check["tables"]]), ""]
    for c in result.get("switch_checks") or []:
        lines.append(f"- switch action `{c['action']}` `{c['target']}`: "
                     + (CAN[c["action"]] if c["ok"] else f"**could not run**: {c['problem']}"))
    for action in result.get("switch") or []:
        lines.append(f"- switch action `{action['action']}` ran: "
                     + ", ".join(f"{k} `{v}`" for k, v in action.items() if k != "action"))
    if result.get("switch_error"):
        lines.append(f"- switch error: {result['switch_error']}")
    if result.get("safe_to_switch"):
        lines += ["", result["safe_to_switch"]]
    return "\n".join(lines) + "\n"


def how_lifted(result: dict) -> str:
    return (f"until its deadline {result['until']}, when it lifted itself" if result["lifted_by_deadline"]
            else f"until it was released at {result['until']}")
