"""The demo shop (a real Django app's SQLite database) after migration: Django's ORM gives the
same answers on the MySQL copy as on SQLite (money to the cent, datetime lookups at the
microsecond, JSON lookups, UUIDs, BLOBs, sessions), and can write new rows there."""
from __future__ import annotations

import sys
from pathlib import Path
from urllib.parse import quote

import pytest

from support.migrate import migrate

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "include" / "demo_shop"))  # a standalone Django project, not a package

import generate  # noqa: E402
import orm_checks  # noqa: E402

pytestmark = pytest.mark.integration


def test_orm_answers_match_and_the_app_writes_after_migration(tmp_path, new_database, mysql_params):
    """Every answer outside orm_checks' documented `collation_dependent` group is identical on
    both databases; the insert smoke (user, product, order with items, review, session) reads
    back exactly what it wrote, with new ids above every migrated one."""
    source = tmp_path / "shop.sqlite3"
    generate.generate(source, scale=0.01, seed=7)
    database = new_database("orm")
    result = migrate(source, database, mysql_params, tmp_path)
    assert result["status"] == "OK"
    login = f"{quote(mysql_params['user'], safe='')}:{quote(mysql_params['passwd'], safe='')}"
    target = f"mysql://{login}@{mysql_params['host']}:{mysql_params['port']}/{database}"

    expected = orm_checks.answers(f"sqlite:///{source}")
    got = orm_checks.answers(target)
    assert expected["counts"]["shop.OrderItem"]["rows"] > 0
    for section in expected:
        if section != "collation_dependent":
            assert got[section] == expected[section], section

    smoke = orm_checks.insert_smoke(target)
    assert smoke["ok"], smoke
    assert smoke["vendor"] == "mysql"
    assert all(smoke["matches"].values()), smoke["matches"]
    for model, new_id in smoke["new_ids"].items():
        assert new_id > (expected["counts"][model]["max_id"] or 0), model
