"""The cutover's state machine: transition() is the one writer of the phase and refuses a
move the machine does not have; release() resolves every phase a step cut short may leave."""
from __future__ import annotations

import ast
import itertools

import pytest

from sqlite_to_mysql.cutover import sqlite_capture
from sqlite_to_mysql.cutover.errors import CutoverError
from tests.support.paths import ROOT

PHASES = [None, sqlite_capture.CAPTURING, sqlite_capture.FROZEN, sqlite_capture.SWITCHING,
          sqlite_capture.SWITCHED, sqlite_capture.ROLLING_BACK]


@pytest.mark.parametrize("current,to", list(itertools.product(PHASES, PHASES)))
def test_transition_moves_only_along_the_machine(source, current, to):
    _path, conn, plan = source
    sqlite_capture.install(conn, plan, run_id="run1")
    with sqlite_capture.Transaction(conn):  # the test's own arrangement, not a move
        sqlite_capture.write_state(conn, phase=current)
    allowed = to == current or to in sqlite_capture.TRANSITIONS[current]
    with sqlite_capture.Transaction(conn):
        if allowed:
            sqlite_capture.transition(conn, to, marker="x")
        else:
            with pytest.raises(CutoverError, match="cannot go from phase"):
                sqlite_capture.transition(conn, to, marker="x")
    state = sqlite_capture.read_state(conn)
    assert state.get("phase") == (to if allowed else current)
    assert ("marker" in state) == allowed


def test_every_phase_is_in_the_machine_and_reachable():
    machine = sqlite_capture.TRANSITIONS
    assert set(machine) == set(PHASES)
    reached, frontier = {None}, [None]
    while frontier:
        for nxt in machine[frontier.pop()]:
            if nxt not in reached:
                reached.add(nxt)
                frontier.append(nxt)
    assert reached == set(PHASES)


def test_only_transition_writes_the_phase():
    """No module of the cutover writes `phase=` through write_state itself."""
    package = ROOT / "plugins/sqlite_to_mysql/cutover"
    writers = []
    for path in package.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) == "write_state"
                    and any(k.arg == "phase" for k in node.keywords)):
                writers.append(f"{path.name}:{node.lineno}")
    assert len(writers) == 1 and writers[0].startswith("sqlite_capture.py:"), writers  # inside transition()
