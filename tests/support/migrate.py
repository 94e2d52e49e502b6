"""Running the migration phases in-process against the test server (what the DAG does)."""
from __future__ import annotations

from sqlite_to_mysql.migration import Connections, run_all
from sqlite_to_mysql.planner import Settings
from sqlite_to_mysql.source import open_source
from tools.bench import connector


def migrate(source, database: str, params: dict, tmp_path, *, method: str = "auto", run_id: str = "test_run",
            **settings) -> dict:
    conns = Connections(source=lambda: open_source(source), server=connector(params),
                        database=connector(params, database))
    return run_all(conns, source_path=str(source), database=database, settings=Settings(**settings),
                   run_id=run_id, method=method, report_base=str(tmp_path / "reports"))
