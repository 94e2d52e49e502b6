"""The demo shop on a real MariaDB/MySQL: Django's migrations, ORM writes, and answers() parity."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "include" / "demo_shop"
sys.path.insert(0, str(DEMO))  # a standalone Django project, not a package

import generate  # noqa: E402
import orm_checks  # noqa: E402
import orm_copy  # noqa: E402

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("shop") / "shop.sqlite3"
    generate.generate(path, scale=0.01, seed=42)
    return f"sqlite:///{path}"


@pytest.fixture
def shop_database(new_database, mysql_connect, mysql_params):
    """Factory: an empty database with the given collation, migrated by Django; returns its URL."""

    def make(collation: str | None = None) -> str:
        name = new_database("shop")
        collate = f" COLLATE {collation}" if collation else ""
        mysql_connect().cursor().execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4{collate}")
        p = mysql_params
        login = f"{quote(p['user'], safe='')}:{quote(p['passwd'], safe='')}"
        url = f"mysql://{login}@{p['host']}:{p['port']}/{name}"
        manage("migrate", "--noinput", "-v", "0", url=url)
        return url

    return make


def manage(*args: str, url: str) -> str:
    env = {**os.environ, "SHOP_DATABASE_URL": url}
    proc = subprocess.run([sys.executable, "manage.py", *args], cwd=DEMO, env=env, capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return proc.stdout


def columns(mysql_connect, url: str) -> dict[tuple[str, str], str]:
    cur = mysql_connect().cursor()
    cur.execute("SELECT table_name, column_name, column_type FROM information_schema.columns "
                "WHERE table_schema = %s", (url.rsplit("/", 1)[1],))
    return {(t, c): ty for t, c, ty in cur.fetchall()}


def without_collation(answers: dict) -> dict:
    return {k: v for k, v in answers.items() if k != "collation_dependent"}


def test_django_migrates_and_the_orm_writes_on_mysql(shop_database, mysql_connect):
    url = shop_database()  # the server's default utf8mb4 collation
    result = orm_checks.insert_smoke(url)
    assert result["ok"], result
    assert result["vendor"] == "mysql"
    cols = columns(mysql_connect, url)
    # The type facts a migration has to reproduce (compare with the SQLite declarations).
    assert cols[("auth_user", "id")].startswith("int") and cols[("shop_order", "user_id")].startswith("int")
    assert cols[("shop_order", "id")].startswith("bigint")
    assert cols[("shop_orderitem", "order_id")].startswith("bigint")
    assert cols[("shop_product", "price")] == "decimal(10,2)"
    assert cols[("shop_order", "total")] == "decimal(12,2)"
    assert cols[("shop_order", "created_at")] == "datetime(6)"
    assert cols[("shop_product", "thumbnail")] == "longblob"
    assert cols[("django_session", "session_data")] == "longtext"
    assert cols[("shop_order", "number")] in ("uuid", "char(32)")  # native uuid on MariaDB >= 10.7


def test_answers_are_the_same_on_both_backends_after_a_lossless_copy(source, shop_database):
    target = shop_database("utf8mb4_bin")  # binary: keeps 'Anna' and 'anna' apart, as SQLite does
    copied = orm_copy.copy(source, target)["copied"]
    assert copied["shop.OrderItem"] > 1_000
    expected, got = orm_checks.answers(source), orm_checks.answers(target)
    assert without_collation(got) == without_collation(expected)
    # LIKE-based lookups follow the collation: SQLite folds ASCII case only, utf8mb4_bin none.
    assert got["collation_dependent"]["username_iexact"]["anna"] == 1
    assert expected["collation_dependent"]["username_iexact"]["anna"] == 2


def test_answers_notice_that_dumpdata_keeps_only_milliseconds(source, shop_database, tmp_path):
    target = shop_database("utf8mb4_bin")
    dump = tmp_path / "dump.json"
    manage("dumpdata", "--exclude", "contenttypes", "--exclude", "auth.permission", "-o", str(dump),
           url=source)
    manage("loaddata", str(dump), url=target)
    expected, got = orm_checks.answers(source), orm_checks.answers(target)
    assert got["money"] == expected["money"] and got["json"] == expected["json"]
    assert got["order_times"]["lo"] != expected["order_times"]["lo"]
    assert got["order_times"]["lo"][20:26].endswith("000")  # DjangoJSONEncoder truncates to ms
    assert got["reviews"]["latest"] != expected["reviews"]["latest"]


def test_a_case_insensitive_collation_rejects_usernames_sqlite_keeps_apart(source, shop_database):
    target = shop_database("utf8mb4_unicode_ci")
    with pytest.raises(RuntimeError, match="Duplicate entry"):
        orm_copy.copy(source, target)
