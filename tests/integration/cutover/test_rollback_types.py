"""Every type the migration can choose has a way back: values the application writes on MySQL
come back to SQLite the way the source stores them, or are refused by name before SQLite is
touched.

The table holds a column of every kind the type decision makes (Django's UUIDField as
MariaDB's native UUID, JSON, DECIMAL from the data and as declared, DATETIME(6), DATE, TIME,
booleans, integers of each size, DOUBLE, text, CHAR, BLOB), columns the operator overrode and
columns the `widen` policy widened. Hypothesis writes random values from each MySQL type's
own value space as the application would (its own session, strict mode), the rollback's
catch-up brings them back, and each stored SQLite value is compared with what MySQL holds,
independently of the project's own conversions and checksums.
"""
from __future__ import annotations

import datetime as dt
import json
import re
import sqlite3
import sys
from decimal import Decimal

import pytest
import MySQLdb
from hypothesis import HealthCheck, given, reject, settings, strategies as st

from sqlite_to_mysql import rollback
from sqlite_to_mysql.catchup import BackwardSync, catch_up
from sqlite_to_mysql.cutover_verify import check_rolled_back, failures
from sqlite_to_mysql.errors import TypeConflictError

from tests.support.cutover_app import switch_over
from tests.support.paths import ROOT
from tools import bench_cutover

pytestmark = pytest.mark.integration

SCHEMA = """
CREATE TABLE django_migrations (id integer NOT NULL PRIMARY KEY AUTOINCREMENT, app varchar(255) NOT NULL,
                                name varchar(255) NOT NULL, applied datetime NOT NULL);
CREATE TABLE kinds (
    id integer NOT NULL PRIMARY KEY AUTOINCREMENT,
    uid char(32) NOT NULL UNIQUE,
    doc text NULL CHECK ((JSON_VALID("doc") OR "doc" IS NULL)),
    price decimal NOT NULL,
    amount decimal(12, 2) NULL,
    at datetime NULL,
    day date NULL,
    clock time NULL,
    flag bool NOT NULL,
    small smallint NULL,
    qty integer unsigned NULL,
    big bigint NULL,
    ratio real NULL,
    name varchar(50) NULL,
    code char(4) NULL,
    body text NULL,
    data BLOB NULL,
    o_dt text NULL,
    o_vc text NULL,
    o_big integer NULL,
    o_time text NULL,
    o_dec text NULL,
    o_bool integer NULL,
    w_int smallint NULL,
    w_dec decimal(4, 2) NULL,
    w_mixed integer NULL,
    w_blob text NULL
);
"""
OVERRIDES = {"kinds.o_dt": "DATETIME(0)", "kinds.o_vc": "VARCHAR(300)", "kinds.o_big": "BIGINT UNSIGNED",
             "kinds.o_time": "TIME(3)", "kinds.o_dec": "DECIMAL(20,6)", "kinds.o_bool": "BOOLEAN"}
EXPECTED_TYPES = {"uid": "UUID", "doc": "JSON", "price": "DECIMAL(10,2)", "amount": "DECIMAL(12,2)",
                  "at": "DATETIME(6)", "day": "DATE", "clock": "TIME(6)", "flag": "TINYINT(1)", "small": "SMALLINT",
                  "qty": "INT UNSIGNED", "big": "BIGINT", "ratio": "DOUBLE", "name": "VARCHAR(50)", "code": "CHAR(4)",
                  "body": "TEXT", "data": "BLOB", "o_dt": "DATETIME", "o_vc": "VARCHAR(300)",
                  "o_big": "BIGINT UNSIGNED", "o_time": "TIME(3)", "o_dec": "DECIMAL(20,6)", "o_bool": "TINYINT(1)",
                  "w_int": "BIGINT", "w_dec": "DECIMAL(6,3)", "w_mixed": "TEXT", "w_blob": "BLOB"}
INT64 = (-2 ** 63, 2 ** 63 - 1)


def build_kinds(path):
    conn = sqlite3.connect(path)
    conn.executescript(SCHEMA)
    conn.execute("INSERT INTO django_migrations (app, name, applied) VALUES ('kinds', '0001_initial', "
                 "'2024-01-01 00:00:00')")
    for i in range(1, 41):
        conn.execute(
            "INSERT INTO kinds (uid, doc, price, amount, at, day, clock, flag, small, qty, big, ratio, name, code, "
            "body, data, o_dt, o_vc, o_big, o_time, o_dec, o_bool, w_int, w_dec, w_mixed, w_blob) VALUES "
            "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (f"{i:032x}", json.dumps({"i": i, "tags": ["a", "é"]}), f"{i * 7.25:.2f}", f"{i}.50",
             f"2024-01-{i % 28 + 1:02d} 10:00:00.{i:06d}", f"2024-02-{i % 28 + 1:02d}", f"12:{i % 60:02d}:00",
             i % 2, -i, i, 2 ** 40 + i, i / 8, f"name {i}", f"c{i:03d}", "body " * i, bytes([i, 0, 255]),
             f"2024-03-01 00:00:{i % 60:02d}", "v" * (i + 100), i, f"01:02:{i % 60:02d}.5", f"{i}.125", i % 2,
             70000 if i == 1 else i, "123.456" if i == 1 else f"{i}.25", "n/a" if i == 1 else i,
             b"\xff\x00" if i == 1 else f"text {i}"))
    conn.commit()
    conn.close()
    return path


# --- what the application may write into each MySQL type ------------------------------------

def _decimal(p: int, s: int):
    bound = Decimal(10) ** (p - s) - Decimal(1).scaleb(-s)
    return st.decimals(min_value=-bound, max_value=bound, places=s, allow_nan=False, allow_infinity=False)


def _json():
    scalars = (st.none() | st.booleans() | st.integers(-2 ** 53, 2 ** 53)
               | st.floats(allow_nan=False, allow_infinity=False, width=32) | st.text(max_size=20))
    return st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                        | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=12).map(
        lambda v: json.dumps(v, ensure_ascii=False))


def _fsp(fsp: int | None):
    step = 10 ** (6 - (fsp or 0))
    return lambda micro: micro - micro % step


def strategy(col):
    """Values of the column's MySQL type that the SQLite column can hold, as an application
    writes them."""
    kind, a, b = col.kind, col.args[0], col.args[1] if len(col.args) > 1 else None
    if kind == "uuid":
        return (st.uuids(version=4) | st.uuids(version=1)).map(str)
    if kind == "json":
        return _json()
    if kind == "decimal":
        return _decimal(a, b)
    if kind == "double":
        return st.floats(allow_nan=False, allow_infinity=False, allow_subnormal=False)
    if kind == "int":
        return st.integers(max(a, INT64[0]), min(b, INT64[1]))
    if kind == "bool":
        return st.sampled_from([0, 1])
    if kind == "datetime":
        cut = _fsp(a)
        return st.datetimes(dt.datetime(1000, 1, 1), dt.datetime(9999, 12, 31, 23, 59, 59)).map(
            lambda d: d.replace(microsecond=cut(d.microsecond)))
    if kind == "date":
        return st.dates(dt.date(1000, 1, 1), dt.date(9999, 12, 31))
    if kind == "time":
        cut = _fsp(a)
        return st.timedeltas(dt.timedelta(0), dt.timedelta(hours=24) - dt.timedelta(microseconds=1)).map(
            lambda t: dt.timedelta(seconds=t.seconds, microseconds=cut(t.microseconds)))
    if kind == "text":  # numbers written as text, too: a numeric column's affinity converts some
        return st.text(st.characters(blacklist_categories=("Cs",)), max_size=min(a or 300, 300)) \
            | st.from_regex(r"\A[ ]?[+-]?\d{1,20}(\.\d{0,4})?([eE][+-]?\d{1,2})?\Z").filter(lambda t: len(t) <= (a or 300))
    if kind == "blob":
        return st.binary(max_size=300)
    raise AssertionError(f"no strategy for kind {kind}: add one with the kind")


def unfit_strategy(col):
    """Values the MySQL type holds and the SQLite column, as the migration reads it, cannot
    (None where there are none)."""
    limit = dt.timedelta(hours=838, minutes=59, seconds=59)
    if col.kind == "int" and col.args[1] > INT64[1]:
        return st.integers(INT64[1] + 1, col.args[1])
    if col.kind == "bool":
        return st.integers(-128, 127).filter(lambda v: v not in (0, 1))
    if col.kind == "time":
        return (st.timedeltas(dt.timedelta(days=1), limit) | st.timedeltas(-limit, -dt.timedelta(seconds=1))).map(
            lambda t: t - dt.timedelta(microseconds=t.microseconds))
    return None


def holdable(col, declared: str, mysql) -> bool:
    """Whether a column declared so in SQLite holds the value in the form the source keeps it
    (Django's), as SQLite itself says: the oracle for a refusal."""
    if col.kind == "time" and not dt.timedelta(0) <= mysql < dt.timedelta(days=1):
        return False
    form = {"uuid": lambda v: v.replace("-", ""), "decimal": str, "datetime": str, "date": dt.date.isoformat,
            "time": lambda v: str((dt.datetime.min + v).time()), "blob": bytes}.get(col.kind, lambda v: v)
    probe = sqlite3.connect(":memory:")
    try:
        probe.execute(f"CREATE TABLE p (v {declared})")
        probe.execute("INSERT INTO p VALUES (?)", (form(mysql),))
        stored, typeof = probe.execute("SELECT v, typeof(v) FROM p").fetchone()
    except OverflowError:  # beyond SQLite's 64-bit integers
        return False
    finally:
        probe.close()
    return same(col, stored, typeof, mysql) and (col.kind != "bool" or mysql in (0, 1))


def same(col, stored, typeof: str, mysql) -> bool:
    """The SQLite value is what the source stores for the MySQL value (Django's forms)."""
    if mysql is None:
        return stored is None
    if col.kind == "uuid":
        return typeof == "text" and stored == mysql.replace("-", "")
    if col.kind == "json":
        return typeof == "text" and json.loads(stored) == json.loads(mysql)
    if col.kind == "decimal":
        return typeof in ("integer", "real", "text") and Decimal(str(stored)) == mysql
    if col.kind == "double":
        return typeof == "real" and stored == mysql
    if col.kind in ("int", "bool"):
        return typeof == "integer" and stored == mysql
    if col.kind == "datetime":
        return typeof == "text" and stored == str(mysql)
    if col.kind == "date":
        return typeof == "text" and stored == mysql.isoformat()
    if col.kind == "time":
        return typeof == "text" and stored == str((dt.datetime.min + mysql).time())
    if col.kind == "text":  # a numeric column's number comes back as the number it was
        return stored == mysql if typeof == "text" else \
            typeof in ("integer", "real") and (repr(stored) if typeof == "real" else str(stored)) == mysql
    if col.kind == "blob":
        return typeof == "blob" and stored == bytes(mysql)
    raise AssertionError(col.kind)


@pytest.fixture
def kinds_rolled_over(tmp_path, migrate):
    migrated = migrate(build_kinds(tmp_path / "kinds.sqlite3"), on_type_conflict="widen", type_overrides=OVERRIDES)
    tp = migrated.plan.table("kinds")
    assert {c.source: c.ddl_type for c in tp.columns if c.source != "id"} == EXPECTED_TYPES
    return migrated, switch_over(migrated), tp


def test_every_mapped_type_comes_back_to_sqlite_as_the_source_stores_it(kinds_rolled_over):
    migrated, cut, tp = kinds_rolled_over
    app = migrated.mysql()
    app.cursor().execute("SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE'")
    sqlite = migrated.app()
    columns = [c for c in tp.columns if c.source != "id"]
    row_of = st.fixed_dictionaries({c.source: strategy(c) if not c.nullable else st.none() | strategy(c)
                                    for c in columns})
    spoilable = [c for c in columns if unfit_strategy(c) is not None]
    assert {c.source for c in spoilable} == {"flag", "o_big", "o_bool", "clock", "o_time"}
    spoiled = st.none() | st.sampled_from(spoilable).flatmap(lambda c: st.tuples(st.just(c.source),
                                                                                  unfit_strategy(c)))
    names = ", ".join(f"`{c.target}`" for c in columns)
    seen = {"rows": 0, "refused": 0}
    declared = {r[1]: r[2] for r in sqlite.execute("PRAGMA table_info(kinds)")}
    cur = app.cursor()
    cur.execute(f"SELECT {names} FROM kinds WHERE id = 7")
    original = list(cur.fetchone())
    app.commit()

    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(row=row_of, spoil=spoiled, update=st.booleans())
    def one(row, spoil, update):
        if spoil:
            row = {**row, spoil[0]: spoil[1]}
        cur = app.cursor()
        values = [row[c.source] for c in columns]
        try:
            if update:  # an existing row changed on MySQL
                cur.execute(f"UPDATE kinds SET {', '.join(f'`{c.target}` = %s' for c in columns)} WHERE id = 7",
                            values)
                key = 7
            else:
                cur.execute(f"INSERT INTO kinds ({names}) VALUES ({', '.join('%s' for _ in columns)})", values)
                key = cur.lastrowid
        except MySQLdb.IntegrityError:  # a UUID drawn twice: the unique key refuses it, as it should
            app.rollback()
            reject()
        app.commit()
        cur.execute(f"SELECT {names} FROM kinds WHERE id = %s", (key,))
        held = dict(zip((c.source for c in columns), cur.fetchone()))
        app.commit()
        before = sqlite.execute("SELECT * FROM kinds WHERE id = ?", (key,)).fetchall()
        sync = BackwardSync(cut.src, cut.dst, cut.plan)
        try:
            catch_up(sync, max_lag_changes=0, timeout=60)
        except TypeConflictError as exc:  # must name a value the SQLite column cannot hold
            named = re.search(r"kinds\.(\w+) at key \{'id': (\d+)\}", str(exc))
            assert named and int(named[2]) == key, str(exc)
            column = named[1]
            assert not holdable(tp.column(column), declared[column], held[column]), (column, held[column], str(exc))
            assert sqlite.execute("SELECT * FROM kinds WHERE id = ?", (key,)).fetchall() == before
            if update:  # the operator puts right what cannot go back
                cur.execute(f"UPDATE kinds SET {', '.join(f'`{c.target}` = %s' for c in columns)} WHERE id = 7",
                            original)
            else:
                cur.execute("DELETE FROM kinds WHERE id = %s", (key,))
            app.commit()
            catch_up(sync, max_lag_changes=0, timeout=60)
            seen["refused"] += 1
            return
        assert not spoil, f"{spoil} came back to SQLite"
        names_sql = ", ".join(f'"{c.source}", typeof("{c.source}")' for c in columns)
        stored = sqlite.execute(f"SELECT {names_sql} FROM kinds WHERE id = ?", (key,)).fetchone()
        for i, col in enumerate(columns):
            value, typeof = stored[2 * i], stored[2 * i + 1]
            assert same(col, value, typeof, held[col.source]), (col.source, col.ddl_type, held[col.source],
                                                                  value, typeof)
        seen["rows"] += 1
        if not update:  # and a row deleted on MySQL goes from SQLite too
            cur.execute("DELETE FROM kinds WHERE id = %s", (key,))
            app.commit()
            catch_up(sync, max_lag_changes=0, timeout=60)
            assert sqlite.execute("SELECT count(*) FROM kinds WHERE id = ?", (key,)).fetchone() == (0,)

    one()
    assert seen["rows"] >= 30 and seen["refused"] >= 10, seen  # both paths were taken
    check = check_rolled_back(cut.src, cut.dst, cut.plan)
    assert check["ok"], failures(check)
    result = rollback.rollback(cut, timeout=60, max_lag_changes=0, catch_up_timeout=120)
    assert result["verification"]["ok"]


def test_quarantined_rows_stay_in_sqlite_through_the_switch_and_the_rollback(tmp_path, migrate):
    """Rows the quarantine policy set aside never reached MySQL: the rollback leaves them in
    SQLite byte for byte and counts them, and where the application wrote a row with the key
    of a quarantined one on MySQL, that row is the newer truth and its quarantine entry goes."""
    from tests.support.torture import BAD_ROWS, build_conflicts

    source = build_conflicts(tmp_path / "conflicts.sqlite3")
    migrated = migrate(source, on_type_conflict="quarantine")
    exact = "SELECT id, n_int, typeof(n_int), n_dec, n_real, n_dt, typeof(n_dt), n_json, CAST(n_text AS BLOB), ok " \
            "FROM bad_values WHERE id IN (%s) ORDER BY id" % ", ".join(str(i) for i in sorted(BAD_ROWS))
    before = migrated.app().execute(exact).fetchall()
    assert len(before) == len(BAD_ROWS)
    cut = switch_over(migrated)
    app = migrated.mysql()
    cur = app.cursor()
    cur.execute("UPDATE bad_values SET ok = 'changed on mysql' WHERE id = 1")
    cur.execute("DELETE FROM bad_values WHERE id = 2")
    cur.execute("INSERT INTO bad_values (id, n_int, n_dec, n_real, n_dt, n_json, n_text, ok) VALUES "
                "(100, 100, 1.25, 2.5, '2025-01-01 00:00:00', '{}', 'new', 'inserted on mysql')")
    cur.execute("INSERT INTO bad_values (id, n_int, n_dec, n_real, n_dt, n_json, n_text, ok) VALUES "
                "(13, 13, 13.25, 19.5, '2025-01-01 00:00:00', '{\"fixed\": true}', 'row 13', 'rewritten on mysql')")
    app.commit()

    result = rollback.rollback(cut, timeout=60, max_lag_changes=0, catch_up_timeout=120)

    assert result["verification"]["ok"], result["verification"]
    sqlite = migrated.app()
    after = sqlite.execute(exact).fetchall()
    assert [r for r in after if r[0] != 13] == [r for r in before if r[0] != 13]  # byte for byte
    assert sqlite.execute("SELECT n_json, ok FROM bad_values WHERE id = 13").fetchone() == \
        ('{"fixed": true}', "rewritten on mysql")
    assert sqlite.execute("SELECT ok FROM bad_values WHERE id IN (1, 100) ORDER BY id").fetchall() == \
        [("changed on mysql",), ("inserted on mysql",)]
    assert sqlite.execute("SELECT count(*) FROM bad_values WHERE id = 2").fetchone() == (0,)
    cur.execute("SELECT source_key FROM _s2m_quarantine WHERE table_name = 'bad_values' ORDER BY id")
    assert sorted(json.loads(k)[0] for (k,) in cur.fetchall()) == sorted(BAD_ROWS - {13})


# --- through the Django application -------------------------------------------------------------

def _aware():
    offsets = st.integers(-14 * 60, 14 * 60).map(lambda m: dt.timezone(dt.timedelta(minutes=m)))
    return st.builds(lambda d, tz: d.replace(tzinfo=tz), st.datetimes(dt.datetime(1900, 1, 1),
                                                                         dt.datetime(2100, 1, 1)), offsets)


def _django_objects(plan, users: list[int], products: list[int], categories: list[int], orders: list[int]):
    """Products, orders and order items with values from each field's whole range on MySQL, as
    Django sends them: aware datetimes in any offset, any UUID MariaDB takes, JSON documents,
    amounts up to the precision the migration chose (from the data: Django declares none)."""
    def money(table: str, column: str):
        return _decimal(*plan.table(table).column(column).args).map(str)

    text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=60)
    json_value = st.recursive(st.none() | st.booleans() | st.integers(-2 ** 60, 2 ** 60)
                              | st.floats(allow_nan=False, allow_infinity=False) | text,
                              lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
                              max_leaves=8)
    product = st.fixed_dictionaries({
        "name": text, "slug": st.uuids().map(lambda u: f"p-{u.hex}"), "category_id": st.sampled_from(categories),
        "seller_id": st.sampled_from(users), "price": money("shop_product", "price"),
        "attributes": st.dictionaries(text, json_value, max_size=4),  # None would be SQL NULL to Django
        "thumbnail": st.none() | st.binary(max_size=64).map(bytes.hex), "is_active": st.booleans(),
        "created_at": _aware().map(dt.datetime.isoformat)}).map(lambda f: {"model": "product", "fields": f})
    order = st.fixed_dictionaries({
        "number": (st.uuids(version=4) | st.uuids(version=1)).map(str), "user_id": st.sampled_from(users),
        "status": st.sampled_from(["pending", "paid", "shipped", "delivered", "cancelled", "refunded"]),
        "total": money("shop_order", "total"), "note": text, "created_at": _aware().map(dt.datetime.isoformat),
        "shipped_at": st.none() | _aware().map(dt.datetime.isoformat)}).map(lambda f: {"model": "order", "fields": f})
    item = st.fixed_dictionaries({
        "order_id": st.sampled_from(orders), "product_id": st.sampled_from(products),
        "quantity": st.integers(*plan.table("shop_orderitem").column("quantity").args),
        "unit_price": money("shop_orderitem", "unit_price")}).map(lambda f: {"model": "item", "fields": f})
    return st.lists(product | order | item, min_size=1, max_size=8)


def test_values_written_through_the_django_app_on_mysql_read_back_the_same_through_it_on_sqlite(tmp_path, migrate):
    """Written on MySQL through Django (the app after the switch), brought back by the
    rollback's catch-up, read through Django on SQLite: the same values, field by field."""
    sys.path.insert(0, str(ROOT / "include" / "demo_shop"))
    import orm_rows
    from generate import generate

    source = tmp_path / "shop.sqlite3"
    generate(source, scale=0.01, seed=11)
    migrated = migrate(source)
    assert migrated.plan.table("shop_order").column("number").ddl_type == "UUID"
    cut = switch_over(migrated)
    sqlite = migrated.app()
    users = [r[0] for r in sqlite.execute("SELECT id FROM auth_user LIMIT 50")]
    products = [r[0] for r in sqlite.execute("SELECT id FROM shop_product LIMIT 50")]
    categories = [r[0] for r in sqlite.execute("SELECT id FROM shop_category")]
    orders = [r[0] for r in sqlite.execute("SELECT id FROM shop_order LIMIT 50")]
    on_mysql, on_sqlite = bench_cutover.mysql_url(migrated.params, migrated.database), f"sqlite:///{source}"
    written: dict = {}

    @settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(objects=_django_objects(migrated.plan, users, products, categories, orders))
    def one(objects):
        try:
            rows = orm_rows.write(on_mysql, objects)["rows"]
        except RuntimeError as exc:  # a UUID or slug drawn twice: the unique key refuses it
            if "Duplicate entry" in str(exc):
                reject()
            raise
        catch_up(BackwardSync(cut.src, cut.dst, cut.plan), max_lag_changes=0, timeout=60)
        ids: dict = {}
        for row in rows:
            ids.setdefault(row["model"], []).append(row["id"])
            written[(row["model"], row["id"])] = {k: v for k, v in row.items() if k != "model"}
        back = orm_rows.read(on_sqlite, ids)
        for row in rows:
            assert back[row["model"]][str(row["id"])] == written[(row["model"], row["id"])], row["model"]
        numbers = [r["number"] for r in rows if r["model"] == "order"]
        assert orm_rows.find(on_sqlite, numbers)["missing"] == []

    one()
    assert written
    result = rollback.rollback(cut, timeout=60, max_lag_changes=0, catch_up_timeout=120)
    assert result["verification"]["ok"]
    ids: dict = {}
    for name, pk in written:
        ids.setdefault(name, []).append(pk)
    back = orm_rows.read(on_sqlite, ids)
    assert {(n, pk): back[n][str(pk)] for n, pk in written} == written
