"""The workload replay at a tiny scale: every request type of the mix runs through gunicorn and
locust on SQLite and on the migrated MySQL at 1, 4 and 16 users, and a result file is written.
The figures are reported at the end of the test run, never asserted: this machine is shared."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tools import workload

pytestmark = pytest.mark.integration


def test_replay_runs_every_request_type_on_both_databases(mysql_params, tmp_path, report_figures):
    results = workload.run(0.01, 42, 3, [1, 4, 16], workers=2, threads=8, with_stress=False,
                           stress_connections=0, stress_users=0, out_dir=tmp_path)
    report_figures("workload replay, scale 0.01, 3 s per run (tools/workload.py)", workload.markdown(results))
    assert json.loads(Path(results["path"]).read_text())["runs"] == results["runs"]
    assert sorted((r["backend"], r["users"]) for r in results["runs"]) == [
        ("mysql", 1), ("mysql", 4), ("mysql", 16), ("sqlite", 1), ("sqlite", 4), ("sqlite", 16)]
    for run in results["runs"]:
        ran = {name for name, figures in run["requests"].items() if figures["requests"]}
        assert set(workload.REQUEST_TYPES) - {"admin_search", "admin_login"} <= ran, (run["backend"], run["users"])
    # On MySQL the shop answers every request: a failing view would show here, whatever the timings.
    for run in results["runs"]:
        if run["backend"] == "mysql":
            assert run["failures"] == [], run["failures"]
