"""What an approver reads before an irreversible step: evidence rendered as Markdown, with no secret.

Evidence is a dict the DAG builds from what its earlier tasks measured:

    {"summary": "one paragraph",
     "figures": {"Lag (changes)": 12, "Freeze in the last rehearsal (s)": 0.21},
     "tables": [{"title": "Live verification", "columns": ["table", "rows", "result"],
                 "rows": [["orders", 1200, "OK"]]}],
     "actions": ["settings file /srv/app/db.json: engine mysql, host db1:3306"],
     "notes": ["anything else the approver must know"]}

Every part is optional, nothing else is accepted (a misspelt key would silently drop evidence).
Values come from the data and the configuration, so they are untrusted twice over: Markdown in
them is escaped (a table name cannot add a row or a link), and secrets are hidden, both by
name (a figure or column called password, token, secret key...) and by shape (credentials in a
URL, age secret keys, private keys, IDENTIFIED BY '...'). `redact` gives the evidence exactly
as shown, which is also what the journal keeps.
"""
from __future__ import annotations

import re
from typing import Any

HIDDEN = "[hidden]"
PARTS = ("summary", "figures", "tables", "actions", "notes")

_SECRET_WORDS = {"password", "passwd", "pwd", "passphrase", "secret", "secrets", "token", "tokens", "credential",
                 "credentials", "apikey", "cookie", "authorization", "privatekey"}
_SECRET_PAIRS = {("api", "key"), ("private", "key"), ("access", "key"), ("encryption", "key"), ("signing", "key"),
                 ("session", "key"), ("auth", "key")}
_SECRET_SHAPES = [
    # user:password@ in a URL or DSN
    (re.compile(r"(?P<keep>[A-Za-z][A-Za-z0-9+.-]*://[^/\s:@]*:)[^@\s/]+(?=@)"), r"\g<keep>" + HIDDEN),
    (re.compile(r"AGE-SECRET-KEY-1[0-9A-Z]+", re.IGNORECASE), HIDDEN),
    (re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(-----END [A-Z ]*PRIVATE KEY-----|$)", re.DOTALL), HIDDEN),
    (re.compile(r"(?P<keep>IDENTIFIED\s+(?:BY|VIA\s+\S+\s+USING)\s+(?:PASSWORD\s*\(?\s*)?)'(?:[^'\\]|\\.)*'",
                re.IGNORECASE), r"\g<keep>'" + HIDDEN + "'"),
    # password=..., token: ..., "secret": "..."
    (re.compile(r"(?P<keep>\b(?:password|passwd|pwd|passphrase|secret|token|api[_-]?key|access[_-]?key)\b"
                r"[\"']?\s*[=:]\s*[\"']?)[^\s\"',;&]+", re.IGNORECASE), r"\g<keep>" + HIDDEN),
]
_ESCAPED = re.compile(r"([\\`*_\[\]<>|~#!&])")
_LEADING_MARKER = re.compile(r"^(\d{0,9})([-+.)])(?=\s|$|-)")  # a list item or a rule


def is_secret_name(name: str) -> bool:
    """True for a label, column or key that names a secret: its words, split at any
    non-alphanumeric and at camelCase, include a secret word or pair."""
    words = [w.lower() for w in re.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+", str(name))]
    joined = "".join(words)
    if any(w in _SECRET_WORDS for w in words) or joined in _SECRET_WORDS:
        return True
    return any(pair in _SECRET_PAIRS for pair in zip(words, words[1:]))


def scrub(text: str) -> str:
    """Hide secrets recognisable by their shape inside free text."""
    for pattern, replacement in _SECRET_SHAPES:
        text = pattern.sub(replacement, text)
    return text


def _value(value: Any) -> Any:
    if isinstance(value, str):
        return scrub(value)
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, (list, tuple)):
        return [_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): HIDDEN if is_secret_name(k) else _value(v) for k, v in value.items()}
    return scrub(str(value))


def redact(evidence: dict) -> dict:
    """The evidence as it will be shown: validated, secrets hidden. ValueError names what is wrong."""
    if not isinstance(evidence, dict):
        raise ValueError(f"evidence must be a dict, not {type(evidence).__name__}")
    unknown = sorted(set(evidence) - set(PARTS))
    if unknown:
        raise ValueError(f"evidence has parts {unknown} that are not shown; known parts: {list(PARTS)}")
    out: dict = {}
    if evidence.get("summary") is not None:
        out["summary"] = scrub(str(evidence["summary"]))
    if evidence.get("figures"):
        out["figures"] = {str(k): HIDDEN if is_secret_name(k) else _value(v) for k, v in evidence["figures"].items()}
    tables = []
    for n, table in enumerate(evidence.get("tables") or []):
        columns = [str(c) for c in table.get("columns") or []]
        if not columns:
            raise ValueError(f"evidence table {n} ({table.get('title')!r}) has no columns")
        hidden = [is_secret_name(c) for c in columns]
        rows = []
        for i, row in enumerate(table.get("rows") or []):
            if len(row) != len(columns):
                raise ValueError(f"evidence table {table.get('title')!r} row {i} has {len(row)} cells for "
                                 f"{len(columns)} columns")
            rows.append([HIDDEN if secret else _value(v) for v, secret in zip(row, hidden)])
        tables.append({"title": scrub(str(table.get("title") or "")), "columns": columns, "rows": rows})
    if tables:
        out["tables"] = tables
    for part in ("actions", "notes"):
        if evidence.get(part):
            out[part] = [scrub(str(item)) for item in evidence[part]]
    return out


def _plain(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:,.3f}".rstrip("0").rstrip(".")
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, list):
        return ", ".join(_plain(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_plain(v)}" for k, v in value.items())
    return str(value)


def escape(value: Any) -> str:
    """Inline Markdown that shows exactly the value, on one line: no markup, no link, no list or
    heading, no table cell break."""
    text = _ESCAPED.sub(r"\\\1", " ".join(_plain(value).split()))
    return _LEADING_MARKER.sub(r"\1\\\2", text)


def markdown(evidence: dict, *, footer: list[str] | None = None) -> str:
    """The approval body: summary, figures, tables, the exact actions, notes, then the footer
    (what approving runs and what rejecting means), from the redacted evidence."""
    shown = redact(evidence)
    out: list[str] = []
    if shown.get("summary"):
        out += [escape(shown["summary"]), ""]
    if shown.get("figures"):
        out += ["| figure | value |", "|---|---:|"]
        out += [f"| {escape(k)} | {escape(v)} |" for k, v in shown["figures"].items()] + [""]
    for table in shown.get("tables", []):
        if table["title"]:
            out += [f"**{escape(table['title'])}**", ""]
        out.append("| " + " | ".join(escape(c) for c in table["columns"]) + " |")
        out.append("|" + "---|" * len(table["columns"]))
        out += ["| " + " | ".join(escape(v) for v in row) + " |" for row in table["rows"]]
        if not table["rows"]:
            out.append("| " + " | ".join(["(none)"] + [""] * (len(table["columns"]) - 1)) + " |")
        out.append("")
    if shown.get("actions"):
        out += ["**What approving runs**", ""] + [f"{n}. {escape(a)}" for n, a in enumerate(shown["actions"], 1)]
        out.append("")
    if shown.get("notes"):
        out += [f"- {escape(n)}" for n in shown["notes"]] + [""]
    if footer:
        out += [escape(line) for line in footer]
    return "\n".join(out).strip() + "\n"
