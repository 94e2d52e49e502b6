"""The approval body and journal (approvals/): what an approver reads is exactly the data, never a
secret, and every decision is kept. Rendered Markdown is read back with markdown-it (CommonMark
plus GFM tables, as the UI renders it) to check what a reader would see, not the source text."""
from __future__ import annotations

import json
import string
import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from approvals import evidence as ev
from approvals import journal

MD = MarkdownIt("commonmark").enable("table")


def cells(markdown: str) -> list[list[str]]:
    """Rows of the first table as a reader sees them (header first)."""
    rows, row, tokens = [], None, MD.parse(markdown)
    for token in tokens:
        if token.type == "tr_open":
            row = []
        elif token.type == "inline" and row is not None:
            row.append("".join(child.content for child in token.children if child.type in ("text", "code_inline")
                               ) if token.children else "")
        elif token.type == "tr_close":
            rows.append(row)
            row = None
        elif token.type == "table_close":
            break
    return rows


def visible_text(markdown: str) -> str:
    tokens = MD.parse(markdown)
    return " ".join(child.content for t in tokens if t.type == "inline" for child in t.children or []
                    if child.type in ("text", "code_inline"))


printable = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=40)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(printable, min_size=3, max_size=3), min_size=1, max_size=5))
def test_table_cells_read_back_exactly_whatever_they_hold(rows):
    body = ev.markdown({"tables": [{"title": "t", "columns": ["a", "b", "c"], "rows": rows}]})
    shown = cells(body)
    assert shown[0] == ["a", "b", "c"]
    expected = [[" ".join(ev.scrub(v).split()) for v in row] for row in rows]
    assert shown[1:] == expected


@settings(max_examples=300)
@given(printable)
def test_a_summary_shows_exactly_its_text_and_adds_no_structure(text):
    body = ev.markdown({"summary": text})
    tokens = [t.type for t in MD.parse(body)]
    if " ".join(ev.scrub(text).split()):
        assert tokens == ["paragraph_open", "inline", "paragraph_close"], (text, body)
        assert visible_text(body) == " ".join(ev.scrub(text).split())


FREE_TEXT = "mysql://app:@db1:3306/shop CREATE USER x IDENTIFIED BY '' settings: password= host=db1 key \\[hidden\\]"
secret = st.text(alphabet=string.ascii_letters + string.digits + "!$%()*+-./?^_{}~", min_size=8, max_size=30)


@settings(max_examples=200)
@given(secret, st.sampled_from(["password", "MYSQL_PASSWORD", "apiToken", "age secret key", "db passwd",
                                "AWS_SECRET_ACCESS_KEY", "private_key", "credentials", "Api-Key"]))
def test_a_value_under_a_secret_name_never_appears(value, name):
    evidence = {"figures": {name: value, "rows": 12}, "tables": [{"columns": ["table", name], "rows": [["t", value]]}],
                "actions": ["switch"]}
    body = ev.markdown(evidence)
    shown = json.dumps(ev.redact(evidence))
    assert value not in body and value not in shown
    assert ev.HIDDEN.replace("[", "\\[").replace("]", "\\]") in body
    assert "12" in body


@settings(max_examples=200)
@given(secret.filter(lambda s: "@" not in s and "/" not in s and ":" not in s
                     and s.lower() not in FREE_TEXT.lower()))
def test_secrets_recognised_by_their_shape_inside_free_text(value):
    age = "".join(c for c in value.upper() if c.isalnum()) + "QPZRY9X8"  # age keys are Bech32
    texts = [f"mysql://app:{value}@db1:3306/shop", f"CREATE USER x IDENTIFIED BY '{value}'",
             f"settings: password={value} host=db1", f"key AGE-SECRET-KEY-1{age}"]
    evidence = {"summary": texts[0], "actions": texts[1:], "figures": {"dsn": texts[0]}}
    body, shown = ev.markdown(evidence), json.dumps(ev.redact(evidence))
    for text in (body, shown):
        assert value not in text and age not in text
    assert "db1" in body  # the rest of the text is still there


@pytest.mark.parametrize("name", ["primary key", "key", "rows", "key_target", "tokenizer_rows", "table", "lag (s)"])
def test_ordinary_names_are_shown(name):
    assert not ev.is_secret_name(name)


def test_evidence_with_an_unknown_part_or_a_ragged_table_is_refused():
    with pytest.raises(ValueError, match="figurez"):
        ev.redact({"figurez": {"lag": 1}})
    with pytest.raises(ValueError, match="row 0 has 1 cells for 2 columns"):
        ev.redact({"tables": [{"title": "t", "columns": ["a", "b"], "rows": [["x"]]}]})


def test_body_shows_figures_tables_actions_and_footer_in_order():
    body = ev.markdown({"summary": "Switch shop", "figures": {"Lag (changes)": 1234, "Lag (s)": 0.25},
                        "tables": [{"title": "Live verification", "columns": ["table", "result"], "rows": []}],
                        "actions": ["settings file /srv/app/db.json: engine mysql"]},
                       footer=["Approve runs: freeze_and_switch."])
    order = [body.index(s) for s in ("Switch shop", "1,234", "0.25", "Live verification", "(none)",
                                      "settings file", "Approve runs")]
    assert order == sorted(order)


def decision(n: int, decision: str = journal.APPROVED) -> dict:
    from datetime import datetime, timezone

    return journal.entry(dag_id="d", run_id="r", task_id=f"gate_{n}", try_number=1, decision=decision,
                         by=None if decision == journal.NO_ANSWER else {"id": "alice", "name": "alice"},
                         at=datetime(2026, 3, 1, 12, tzinfo=timezone.utc), asked_at="", deadline=None,
                         assigned_users=[], subject="s", evidence={}, body="b", gated_tasks=["x"])


def test_journal_keeps_every_decision_even_when_gates_decide_at_once(tmp_path):
    threads = [threading.Thread(target=journal.record, args=(tmp_path, decision(n))) for n in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(e["task_id"] for e in journal.read(tmp_path)) == sorted(f"gate_{n}" for n in range(20))
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_journal_says_what_changed_and_refuses_a_decider_without_an_answer(tmp_path):
    assert decision(1, journal.REJECTED)["changed"].startswith("nothing")
    assert decision(1, journal.APPROVED)["changed"] == "the gated tasks ran"
    assert decision(1, journal.NO_ANSWER)["by"] is None
    with pytest.raises(ValueError):
        journal.entry(**{**{k: v for k, v in decision(1).items() if k not in ("changed",)},
                         "decision": journal.NO_ANSWER, "at": __import__("datetime").datetime.now()})
