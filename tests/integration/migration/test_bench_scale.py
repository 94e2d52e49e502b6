"""`make bench-scale`'s pieces at a tiny scale (nothing timed: the figures are the bench's, on a
quiet machine). The raw limit's two loads and the in-process run on a private mariadbd, the
evaluation against the targets, and the generated section of docs/measured.md; the scheduled
DAG with its per-phase spans and per-task peak RSS separately (slow: it starts Airflow)."""
from __future__ import annotations

import json

import pytest

from tools import bench, bench_scale

pytestmark = pytest.mark.integration

SCALE = 0.01


def test_raw_limit_in_process_and_report(tmp_path, monkeypatch):
    monkeypatch.setattr(bench_scale, "MEASURED", tmp_path / "measured.md")
    (tmp_path / "measured.md").write_text("# Measured figures\n\nkept\n")
    results = bench_scale.run(SCALE, settings=("defaults",), skip={"dag", "peer"}, out_dir=tmp_path)

    saved = json.loads(next(tmp_path.glob("scale-*.json")).read_text())
    assert saved["settings"].keys() == {"defaults"}
    (run,) = saved["settings"]["defaults"]["runs"]
    source, counts = bench.demo_source(SCALE, 42)
    assert run["rows"] == sum(counts.values()) == run["plain_read"]["rows"]
    assert run["in_process"]["status"] == "OK"
    assert set(run["in_process"]["phases"]) >= {"preflight", "copy_and_verify", "copy", "verify", "finalize"}
    assert run["in_process"]["server_status"]["Handler_write"] >= run["rows"]
    assert run["raw_limit"]["which"] in ("raw_indexed_schema", "raw_then_sorted_indexes")
    assert run["raw_limit"]["seconds"] == min(run["raw_indexed_schema"]["seconds"],
                                              run["raw_then_sorted_indexes"]["seconds"])
    targets = saved["settings"]["defaults"]["evaluation"]["targets"]
    assert {"in_process_over_raw_limit", "preflight_over_plain_read", "verify_over_copy"} <= set(targets)
    doc = (tmp_path / "measured.md").read_text()
    assert doc.startswith("# Measured figures\n\nkept\n") and doc.count(bench_scale.BEGIN) == 1
    bench_scale.write_measured("again")  # regenerating replaces the section, nothing else
    doc = (tmp_path / "measured.md").read_text()
    assert doc.count(bench_scale.BEGIN) == 1 and "again" in doc and "kept" in doc
    assert results["scale"] == SCALE


def test_growth_and_projection_are_relative_to_the_smallest_scale():
    def run(scale, rows, raw, copy, peer=None):
        out = {"scale": scale, "rows": rows, "plain_read": {"seconds": raw / 2}, "raw_limit": {"seconds": raw},
               "in_process": {"seconds": copy * 2, "phases": {"preflight": raw, "copy": copy, "verify": copy / 2},
                              "peak_rss_mb": 100.0},
               "dag": {"seconds": copy * 3, "phases": {"copy": {"seconds": copy, "task_seconds": copy},
                                                       "verify": {"seconds": copy, "task_seconds": copy / 2}},
                       "peak_task_rss_mb": 150.0}}
        if peer:
            out["peer"] = {"seconds": peer, "exit_code": 0}
        return out

    setting = {"runs": [run(1.0, 1000, 10.0, 20.0, peer=300.0), run(10.0, 10000, 100.0, 400.0)]}
    ev = bench_scale.evaluate(setting, 10.0)
    assert ev["growth"]["raw_limit"] == 10.0 and ev["growth"]["dag.copy"] == 20.0
    worst = ev["targets"]["phase_growth_over_raw_growth"]
    assert worst["value"] == 2.0 and not worst["met"] and ev["growth_over_raw_growth"][worst["phase"]] == 2.0
    assert ev["peer"]["seconds"] == 3000.0 and "projected" in ev["peer"]["how"]
    assert ev["targets"]["peer_over_dag"]["value"] == 2.5 and not ev["targets"]["peer_over_dag"]["met"]
    assert ev["targets"]["verify_over_copy"] == {"value": 0.5, "target": "<= 1.0", "met": True}
    assert ev["targets"]["dag_over_raw_limit"]["value"] == 12.0


def test_recommended_settings_follow_the_recommendations_file():
    opts = bench_scale.recommended_options(ram_bytes=24 * 1024 ** 3)
    assert opts["innodb-buffer-pool-size"] == "12288M" and opts["innodb-log-file-size"] == "3072M"
    assert opts["innodb-flush-log-at-trx-commit"] == "1"
    small = bench_scale.recommended_options(ram_bytes=2 * 1024 ** 3)
    assert small["innodb-buffer-pool-size"] == "2048M" and small["innodb-log-file-size"] == "512M"


@pytest.mark.slow
@pytest.mark.airflow
def test_scheduled_dag_reports_phases_and_task_memory(private_mariadb):
    server = private_mariadb()
    params = {"host": "127.0.0.1", "port": server.port, "user": "root", "passwd": ""}
    source, _counts = bench.demo_source(SCALE, 42)
    run = bench.ours_scheduled(source, params, "bs_dag_test")
    assert run["status"] == "OK"
    assert {"preflight", "setup_target", "copy", "verify", "finalize", "report"} <= set(run["phases"])
    assert run["phases"]["copy"]["tasks"] == run["phases"]["verify"]["tasks"] == 17
    assert set(run["task_peak_rss_mb"]) >= {"preflight", "report"}
    assert 0 < run["peak_task_rss_mb"] == max(run["task_peak_rss_mb"].values())
