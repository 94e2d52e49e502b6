"""freeze_and_switch, or the rollback, in a process of its own, so a test can kill it as a
dying worker dies:

    python -m tests.support.cutover_process job.json

job.json: source, params, plan (JSON), live (verify_live's result), config (SwitchConfig
fields), timeout, run_id, and step: switch (the default) or rollback.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "plugins")]

from sqlite_to_mysql.cutover import forward, rollback  # noqa: E402
from sqlite_to_mysql.plan import Plan  # noqa: E402
from sqlite_to_mysql.cutover.switch_actions import SwitchConfig  # noqa: E402
from tools.bench_cutover import open_cutover  # noqa: E402


def main(path: str) -> None:
    job = json.loads(Path(path).read_text())
    cut = open_cutover(Path(job["source"]), job["params"], Plan.from_json(job["plan"]), run_id=job["run_id"],
                       config=SwitchConfig(**job["config"]))
    if job.get("step") == "rollback":
        rollback.rollback(cut, timeout=job["timeout"], max_lag_changes=0, catch_up_timeout=120)
    else:
        forward.freeze_and_switch(cut, job["live"], mode="switch", timeout=job["timeout"], max_lag_changes=0,
                                  catch_up_timeout=120)


if __name__ == "__main__":
    main(sys.argv[1])
