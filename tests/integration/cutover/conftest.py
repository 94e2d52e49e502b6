"""Cutover tests against the MariaDB on 3306: a migrated target with change capture armed."""
from __future__ import annotations

from pathlib import Path

import pytest

from sqlite_to_mysql.planner import Settings
from tests.support.cutover_app import Migrated, build_app_db
from tools.bench_cutover import migrate_with_capture


@pytest.fixture
def migrate(tmp_path, new_database, mysql_params):
    """Migrate a source into a fresh database with capture armed (a writer may be running)."""

    made: list[Migrated] = []

    def run(source: Path, **settings) -> Migrated:
        database = new_database("cut")
        result = migrate_with_capture(source, mysql_params, database, run_id="migration_test",
                                      settings=Settings(**settings))
        assert result["verification_ok"], [v for v in result["verdicts"] if not v["ok"]]
        made.append(Migrated(source, result["plan"], database, mysql_params, tmp_path, result))
        return made[-1]

    yield run
    for migrated in made:
        migrated.close()


@pytest.fixture
def app_db(tmp_path) -> Path:
    return build_app_db(tmp_path / "app.sqlite3")
