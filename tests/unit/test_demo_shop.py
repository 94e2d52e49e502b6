"""The demo shop: reproducible generation, ORM-identical storage, and the ORM checks on SQLite."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import shutil
import sqlite3
import subprocess
import sys
import uuid
from decimal import Decimal
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "include" / "demo_shop"
sys.path.insert(0, str(DEMO))  # a standalone Django project, not a package

import generate  # noqa: E402
import orm_checks  # noqa: E402
import orm_parity  # noqa: E402
import shopconf  # noqa: E402
import sqlite_format as fmt  # noqa: E402

SCALE = 0.01
DATETIME_TEXT = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{6})?$")
UUID_TEXT = re.compile(r"^[0-9a-f]{32}$")
DATETIME_COLUMNS = {
    "auth_user": ("date_joined", "last_login"), "shop_product": ("created_at",),
    "shop_order": ("created_at", "updated_at", "shipped_at"), "shop_review": ("created_at",),
    "django_session": ("expire_date",), "django_admin_log": ("action_time",),
    "django_migrations": ("applied",),
}
DECIMAL_COLUMNS = {"shop_product": ("price",), "shop_order": ("total",), "shop_orderitem": ("unit_price",)}
BOOL_COLUMNS = {"auth_user": ("is_superuser", "is_staff", "is_active"), "shop_product": ("is_active",),
                "shop_review": ("is_verified",)}


def url(path: Path) -> str:
    return f"sqlite:///{path}"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def table_dump(path: Path) -> dict[str, str]:
    """Per table, a digest of every cell's storage class and value, in rowid order."""
    with sqlite3.connect(path) as conn:
        tables = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        out = {}
        for table in tables:
            cols = [r[1] for r in conn.execute(f'PRAGMA table_info("{table}")')]
            types = ", ".join(f'typeof("{c}")' for c in cols)
            digest = hashlib.sha256()
            for row in conn.execute(f'SELECT {types}, * FROM "{table}" ORDER BY rowid'):
                digest.update(repr(row).encode("utf-8", "surrogatepass"))
            out[table] = digest.hexdigest()
        return out


def query(path: Path, sql: str, *params) -> list[tuple]:
    with sqlite3.connect(path) as conn:
        return conn.execute(sql, params).fetchall()


@pytest.fixture(scope="module")
def shop_db(tmp_path_factory) -> tuple[Path, dict]:
    path = tmp_path_factory.mktemp("shop") / "shop.sqlite3"
    counts = generate.generate(path, scale=SCALE, seed=42)
    path.chmod(0o444)  # shared by the tests below: copy before writing
    return path, counts


@pytest.fixture
def shop_copy(shop_db, tmp_path) -> Path:
    dst = tmp_path / "copy.sqlite3"
    shutil.copyfile(shop_db[0], dst)
    dst.chmod(0o644)
    return dst


# ------------------------------------------------------------------ generation

def test_same_seed_gives_the_same_file_and_another_seed_does_not(shop_db, tmp_path):
    again = tmp_path / "again.sqlite3"
    assert generate.generate(again, scale=SCALE, seed=42) == shop_db[1]
    assert sha256(again) == sha256(shop_db[0])  # byte for byte, migration timestamps included
    other = tmp_path / "other.sqlite3"
    generate.generate(other, scale=SCALE, seed=7)
    differing = {t for t, d in table_dump(other).items() if d != table_dump(shop_db[0])[t]}
    assert {"auth_user", "shop_order", "shop_orderitem", "shop_review", "django_session"} <= differing


def test_row_counts_follow_the_scale(shop_db, tmp_path):
    small = shop_db[1]
    assert 8_000 <= sum(small.values()) <= 12_000  # scale 0.01 is about ten thousand rows
    double = generate.generate(tmp_path / "double.sqlite3", scale=2 * SCALE, seed=42)
    for table in ("shop_order", "shop_orderitem", "shop_review", "django_session", "auth_user",
                  "shop_product"):
        assert 1.7 < double[table] / small[table] < 2.3, table
    # Biggest tables first, as in a real shop.
    assert small["shop_orderitem"] > small["shop_order"] > small["shop_review"] > small["django_session"]


def test_cli_prints_counts(tmp_path):
    out = tmp_path / "cli.sqlite3"
    proc = subprocess.run([sys.executable, str(DEMO / "generate.py"), "--scale", "0.001", "--seed", "3",
                           "--out", str(out)], capture_output=True, text=True, check=True)
    report = json.loads(proc.stdout)
    assert report["rows"]["shop_order"] == query(out, "SELECT count(*) FROM shop_order")[0][0]
    assert not out.with_name(out.name + ".partial").exists()


def test_file_is_consistent(shop_db):
    path = shop_db[0]
    assert query(path, "PRAGMA integrity_check") == [("ok",)]
    assert query(path, "PRAGMA foreign_key_check") == []
    assert query(path, "PRAGMA journal_mode") == [("delete",)]  # bulk-load pragmas are not persisted
    # Every order's total is the exact sum of its lines (in cents, no float arithmetic).
    lines: dict[int, int] = {}
    items = query(path, "SELECT order_id, quantity, CAST(unit_price AS TEXT) FROM shop_orderitem")
    for order_id, qty, price in items:
        lines[order_id] = lines.get(order_id, 0) + qty * int(Decimal(price) * 100)
    for order_id, total in query(path, "SELECT id, CAST(total AS TEXT) FROM shop_order"):
        assert lines.get(order_id, 0) == int(Decimal(total) * 100), order_id


def test_ids_have_gaps_and_sequences_stay_above_them(shop_db):
    path = shop_db[0]
    # Django declares every auto id on SQLite as INTEGER PRIMARY KEY AUTOINCREMENT.
    ddl = dict(query(path, "SELECT name, sql FROM sqlite_master WHERE type = 'table'"))
    for table in ("auth_user", "shop_product", "shop_order", "shop_orderitem", "shop_review",
                  "shop_product_tags"):
        assert '"id" integer NOT NULL PRIMARY KEY AUTOINCREMENT' in ddl[table]
        seq = query(path, "SELECT seq FROM sqlite_sequence WHERE name = ?", table)[0][0]
        max_id, rows = query(path, f'SELECT max(id), count(*) FROM "{table}"')[0]
        assert seq > max_id, table  # the newest rows were deleted: ids must not be reused
        assert rows < max_id, table  # gaps in the middle too
    # Foreign keys to BigAutoField ids are declared bigint, the ids themselves integer.
    assert '"order_id" bigint NOT NULL' in ddl["shop_orderitem"]
    assert '"user_id" integer NOT NULL' in ddl["shop_order"]  # auth.User keeps AutoField


def test_hard_cases_are_present(shop_db):
    path = shop_db[0]
    usernames = {r[0] for r in query(path, "SELECT username FROM auth_user")}
    assert {"Anna", "anna", "José", "Jose", "Straße", "strasse"} <= usernames
    assert query(path, "SELECT count(*) FROM auth_user WHERE username = 'anna' COLLATE NOCASE")[0][0] == 2
    assert query(path, "SELECT count(*) FROM auth_user WHERE last_login IS NULL")[0][0] > 0
    assert query(path, "SELECT count(*) FROM auth_user WHERE first_name = ''")[0][0] > 0
    names = [r[0] for r in query(path, "SELECT name FROM shop_product")]
    assert any(len(n.encode()) > len(n) + 3 and any(ord(c) > 0xFFFF for c in n) for n in names)  # emoji
    price_kinds = {r[0] for r in query(path, "SELECT DISTINCT typeof(price) FROM shop_product")}
    assert price_kinds == {"integer", "real"}
    created = [r[0] for r in query(path, "SELECT created_at FROM shop_order")]
    assert any("." in t for t in created) and any("." not in t for t in created)
    thumbs = {r[0] for r in query(path, "SELECT thumbnail FROM shop_product WHERE id <= 4")}
    assert bytes(range(256)) in thumbs and b"" in thumbs
    special = query(path, "SELECT thumbnail FROM shop_product WHERE id = 2")[0][0]
    assert all(b in special for b in (b"\x00", b"\x09", b"\x0a", b"\x5c"))
    assert query(path, "SELECT count(*) FROM shop_product WHERE thumbnail IS NULL")[0][0] > 0
    bodies = [r[0] for r in query(path, "SELECT body FROM shop_review")]
    assert any("\x00" in b for b in bodies) and any("\r\n" in b for b in bodies) and "" in bodies
    assert max(len(b.encode()) for b in bodies) > 65_535  # too big for a MySQL TEXT column
    assert max(len(r[0]) for r in query(path, "SELECT session_data FROM django_session")) > 65_535
    attrs = [r[0] for r in query(path, "SELECT attributes FROM shop_product")]
    assert any("\\ud83d" in a for a in attrs) and "{}" in attrs and any('"dims": {' in a for a in attrs)
    assert query(path, "SELECT count(*) FROM shop_category WHERE parent_id IS NULL")[0][0] > 0


# ------------------------------------------------------------------ storage parity with the ORM

def test_generated_columns_have_the_orm_storage_formats(shop_db):
    path = shop_db[0]
    for table, cols in DATETIME_COLUMNS.items():
        for col in cols:
            for kind, value in query(path, f'SELECT typeof("{col}"), "{col}" FROM "{table}"'):
                assert kind == "null" or (kind == "text" and DATETIME_TEXT.match(value)), (table, col, value)
    for table, cols in DECIMAL_COLUMNS.items():
        for col in cols:
            for kind, value in query(path, f'SELECT typeof("{col}"), "{col}" FROM "{table}"'):
                # REAL only when there are cents, INTEGER for whole amounts: what NUMERIC affinity does.
                assert (kind, isinstance(value, int)) in (("integer", True), ("real", False)), (table, col)
                assert kind == "integer" or value != int(value)
    for table, cols in BOOL_COLUMNS.items():
        for col in cols:
            assert set(query(path, f'SELECT DISTINCT typeof("{col}"), "{col}" FROM "{table}"')) <= {
                ("integer", 0), ("integer", 1)}
    for kind, number in query(path, "SELECT typeof(number), number FROM shop_order"):
        assert kind == "text" and UUID_TEXT.match(number) and uuid.UUID(number).version == 4
    for kind, text in query(path, "SELECT typeof(attributes), attributes FROM shop_product"):
        assert kind == "text" and json.dumps(json.loads(text)) == text  # Django's json.dumps defaults
    thumb_kinds = {r[0] for r in query(path, "SELECT DISTINCT typeof(thumbnail) FROM shop_product")}
    assert thumb_kinds == {"blob", "null"}


def _write_samples_with_sqlite3(path: Path, session_keys: list[str]) -> None:
    """The generator's way: sqlite_format encoders and generate.insert, no ORM."""
    generate.create_schema(path)
    datetimes = orm_parity.SAMPLES["datetimes"]
    prices = orm_parity.SAMPLES["prices"]

    def when(parts) -> str:
        return fmt.datetime_text(fmt.datetime_micros(orm_parity._aware(parts)))

    def cents(text: str) -> int:
        return int(Decimal(text) * 100)

    conn = sqlite3.connect(path)
    with conn:
        generate.insert(conn, "auth_user", ("id", "password", "is_superuser", "username", "first_name",
                                            "last_name", "email", "is_staff", "is_active", "date_joined"),
                        [(1, "x", 0, "sampler", "", "", "", 0, 1, when(datetimes[0]))])
        generate.insert(conn, "shop_category", ("id", "name", "slug", "description"),
                        [(1, "Samples", "samples", "")])
        generate.insert(conn, "shop_product", ("id", "name", "slug", "category_id", "seller_id", "price",
                                               "attributes", "thumbnail", "is_active", "created_at"),
                        [(r["id"], r["name"], r["slug"], 1, 1, fmt.decimal_text(cents(r["price"])),
                          fmt.json_text(r["attributes"]), r["thumbnail"], fmt.bool_value(r["is_active"]),
                          when(r["created_at"])) for r in orm_parity.sample_rows()])
        orders, items = [], []
        for i, hex_ in enumerate(orm_parity.SAMPLES["uuids"], 1):
            t = when(datetimes[i % len(datetimes)])
            amount = fmt.decimal_text(cents(prices[i]))
            orders.append((i, fmt.uuid_text(uuid.UUID(hex_)), "pending", amount, "", t, t, None, 1))
            items.append((i, i, amount, i, i))
        generate.insert(conn, "shop_order", ("id", "number", "status", "total", "note", "created_at",
                                             "updated_at", "shipped_at", "user_id"), orders)
        generate.insert(conn, "shop_orderitem", ("id", "quantity", "unit_price", "order_id", "product_id"),
                        items)
        generate.insert(conn, "shop_review", ("id", "product_id", "user_id", "rating", "title", "body",
                                              "is_verified", "created_at"),
                        [(1, 1, 1, 5, "", "Line\r\nbreak 😀", 1, when(datetimes[2]))])
        encode = fmt.session_encoder(shopconf.SECRET_KEY)
        generate.insert(conn, "django_session", ("session_key", "session_data", "expire_date"),
                        [(key, encode(payload, orm_parity.SAMPLES["session_time"]), "2000-01-01 00:00:00")
                         for key, payload in zip(session_keys, orm_parity.SAMPLES["sessions"])])
    conn.close()


PARITY_COLUMNS = {
    "auth_user": "id, date_joined, is_superuser, is_staff, is_active, first_name",
    "shop_product": "id, name, slug, price, attributes, thumbnail, is_active, created_at, category_id, "
                    "seller_id",
    "shop_order": "id, number, status, total, note, created_at, updated_at, shipped_at, user_id",
    "shop_orderitem": "id, quantity, unit_price, order_id, product_id",
    "shop_review": "id, rating, title, body, is_verified, created_at",
    "django_session": "session_key, session_data",
}


def _typed_rows(path: Path, table: str, columns: str) -> list[tuple]:
    cols = [c.strip() for c in columns.split(",")]
    select = ", ".join(f'typeof("{c}"), "{c}"' for c in cols)
    return query(path, f'SELECT {select} FROM "{table}" ORDER BY rowid')


def test_generator_encoders_store_exactly_what_the_orm_stores(tmp_path):
    by_orm = tmp_path / "orm.sqlite3"
    generate.create_schema(by_orm)
    keys = orm_parity.write_samples(url(by_orm))["session_keys"]
    by_sqlite3 = tmp_path / "plain.sqlite3"
    _write_samples_with_sqlite3(by_sqlite3, keys)
    for table, columns in PARITY_COLUMNS.items():
        orm_rows, plain_rows = _typed_rows(by_orm, table, columns), _typed_rows(by_sqlite3, table, columns)
        assert orm_rows and orm_rows == plain_rows, table
    # What the ORM stored, spelled out (the findings the generator is built on).
    price = dict(query(by_orm, "SELECT CAST(price AS TEXT), typeof(price) FROM shop_product"))
    assert price["19.99"] == "real" and price["0.1"] == "real" and price["20"] == "integer"
    stamps = {r[0] for r in query(by_orm, "SELECT created_at FROM shop_product")}
    assert {"2024-05-06 07:08:09.123456", "2024-05-06 07:08:09", "2024-05-06 05:08:09.001000",
            "2000-01-01 05:29:59.500000"} <= stamps  # UTC, naive, fraction only when non-zero
    assert query(by_orm, "SELECT attributes FROM shop_product WHERE id = 1")[0][0].startswith(
        '{"color": "red", "dims": {"w": 120.5')
    assert query(by_orm, "SELECT number FROM shop_order WHERE id = 1")[0][0] == orm_parity.SAMPLES["uuids"][0]


def test_saving_generated_rows_through_the_orm_changes_nothing(shop_copy):
    before = table_dump(shop_copy)
    saved = orm_parity.resave(url(shop_copy))["saved"]
    assert saved["shop.OrderItem"] > 1_000 and saved["sessions.Session"] > 100
    after = table_dump(shop_copy)
    assert {t for t in before if before[t] != after[t]} == set()


# ------------------------------------------------------------------ ORM checks on SQLite

def test_answers_on_a_generated_database(shop_db):
    a = orm_checks.answers(url(shop_db[0]))
    assert a == orm_checks.answers(url(shop_db[0]))  # deterministic
    json.dumps(a)
    assert a["counts"]["shop.Order"]["rows"] == shop_db[1]["shop_order"]
    money = a["money"]
    assert money["order_total_sum"]["db"] == money["order_total_sum"]["exact"]
    assert money["order_total_sum"]["exact"] == money["line_total_sum"]["exact"]
    assert money["orders_not_matching_items"] == 0
    assert money["first_product_prices"][:3] == [[1, "19.99"], [2, "0.10"], [3, "1234.50"]]
    times = a["order_times"]
    assert times["orm"] == times["python"]
    assert times["orm"]["gte_lte"] == times["orm"]["gt_lt"] + 2  # both bounds are rows of the data
    assert times["lo"].endswith("+00:00") and times["hi"][19:26] == ".000000"
    assert a["json"]["label_exact_ids"] == [1] and a["json"]["big_int_ids"] == [2]
    assert a["json"]["nested_path_ids"] == [1] and a["json"]["color_red"] > 0
    assert a["json"]["warranty_json_null"] > 0 and a["json"]["empty_object"] > 0
    assert a["users"]["named"]["anna"] != a["users"]["named"]["Anna"]
    assert all(len(ids) == 1 for ids in a["users"]["named"].values())
    assert a["users"]["password_ok"] == {"admin": True, "Anna": True}
    assert a["binary"]["first_sha256"]["1"] == hashlib.sha256(bytes(range(256))).hexdigest()
    assert a["binary"]["empty"] > 0 and a["binary"]["null"] > 0
    assert all(v[0] == v[1] for v in a["uuids"]["lookups"].values()) and len(a["uuids"]["lookups"]) == 3
    assert sum(a["order_status"].values()) == shop_db[1]["shop_order"]
    assert a["relations"]["top_tags"][0][2] >= a["relations"]["top_tags"][-1][2]
    assert a["sessions"]["undecodable"] == 0 and a["sessions"]["longest_data_chars"] > 65_535
    assert dt.datetime.fromisoformat(a["reviews"]["latest"]).tzinfo is not None
    assert a["reviews"]["max_body_chars"] == 40_000
    assert abs(float(a["reviews"]["avg_rating_db"]) - float(a["reviews"]["avg_rating_exact"])) < 0.001


def test_insert_smoke_reads_back_what_it_wrote_and_rolls_back(shop_copy):
    before = table_dump(shop_copy)
    result = orm_checks.insert_smoke(url(shop_copy))
    assert result["ok"], result
    assert result["vendor"] == "sqlite" and all(result["matches"].values())
    assert table_dump(shop_copy) == before
    seq = query(shop_copy, "SELECT seq FROM sqlite_sequence WHERE name = 'shop_order'")[0][0]
    kept = orm_checks.insert_smoke(url(shop_copy), keep=True)
    assert kept["ok"] and kept["kept"]
    # AUTOINCREMENT: the new order skips the ids of the deleted newest orders.
    assert kept["previous_max_ids"]["shop.Order"] < seq
    assert kept["new_ids"]["shop.Order"] == seq + 1


def test_orm_checks_cli(shop_db):
    cmd = [sys.executable, str(DEMO / "orm_checks.py"), "answers", "--database-url", url(shop_db[0])]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
    assert json.loads(proc.stdout)["counts"]["shop.Product"]["rows"] == shop_db[1]["shop_product"]


# ------------------------------------------------------------------ project plumbing

def test_committed_migrations_match_the_models(tmp_path):
    env = {"SHOP_DATABASE_URL": url(tmp_path / "unused.sqlite3"), "PATH": "/usr/bin:/bin"}
    proc = subprocess.run([sys.executable, "manage.py", "makemigrations", "--check", "--dry-run"],
                          cwd=DEMO, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_database_urls():
    assert shopconf.database_settings("sqlite:////tmp/a b.sqlite3") == {
        "ENGINE": "django.db.backends.sqlite3", "NAME": "/tmp/a b.sqlite3",
        "OPTIONS": {"transaction_mode": "IMMEDIATE", "timeout": shopconf.SQLITE_BUSY_SECONDS}}
    my = shopconf.database_settings("mysql://shop:p%40ss@db.example:3307/shop?ssl_ca=/etc/ca.pem")
    assert (my["ENGINE"], my["USER"], my["PASSWORD"], my["HOST"], my["PORT"], my["NAME"]) == (
        "django.db.backends.mysql", "shop", "p@ss", "db.example", "3307", "shop")
    assert my["OPTIONS"]["charset"] == "utf8mb4" and my["OPTIONS"]["ssl"] == {"ca": "/etc/ca.pem"}
    assert "STRICT_ALL_TABLES" in my["OPTIONS"]["init_command"]
    with pytest.raises(ValueError):
        shopconf.database_settings("postgres://x/y")
    with pytest.raises(ValueError):
        shopconf.sqlite_path("sqlite://relative.sqlite3")


def test_encoders():
    texts = [fmt.decimal_text(c) for c in (1999, 10, 2000, 0, -525)]
    assert texts == ["19.99", "0.10", "20.00", "0.00", "-5.25"]
    t = dt.datetime(2024, 2, 29, 23, 59, 59, 999999, tzinfo=dt.timezone.utc)
    assert fmt.datetime_text(fmt.datetime_micros(t)) == "2024-02-29 23:59:59.999999"
    assert fmt.datetime_text(fmt.datetime_micros(t.replace(microsecond=0))) == "2024-02-29 23:59:59"
    assert uuid.UUID(fmt.uuid4_hex((1 << 128) - 1)).version == 4
    assert uuid.UUID(fmt.uuid4_hex(0)).variant == uuid.RFC_4122
