"""The masked copy against a real (encrypted) MariaDB: the demo shop masked, checked through its
own Django ORM, deterministic under a key, strict about unclassified columns, integrity-keeping,
and a leak planted in the copy caught by the scan."""
from __future__ import annotations

import sys

import pytest

from data_masking import CoverageError, MaskingLeak, masking_pipeline
from data_masking.masked_copy import stage_name
from data_masking.masking_strategies import Keyed
from data_masking.masking_strategies import build as build_strategy
from masking_support import KEY, RULES, SHOP, access, shop_url
from tests.support.paths import ROOT

pytestmark = pytest.mark.integration


def build(server, dev_db: str, *, key: bytes = KEY, rules=RULES, source_db: str = SHOP, **kw):
    return masking_pipeline.build(access(server), access(server), source_db, dev_db, rules, Keyed(key), **kw)


def table_digest(server, database: str, table: str, columns: str = "*") -> list:
    return server.sql(f"SELECT {columns} FROM `{database}`.`{table}` ORDER BY 1")


def orm(url: str) -> dict:
    if str(ROOT / "include" / "demo_shop") not in sys.path:
        sys.path.insert(0, str(ROOT / "include" / "demo_shop"))
    from orm_checks import answers

    return answers(url)


def test_the_demo_shop_masked_copy_works_in_its_django_app(encrypted_server, demo_shop, dev_database):
    dev = dev_database()
    report = build(encrypted_server, dev, dev_password="dev-login-please")
    assert report.scan["leak_count"] == 0 and report.verify["problems"] == []
    assert report.tables["django_session"]["action"] == "truncate"
    assert "_s2m_quarantine" not in [r[0] for r in encrypted_server.sql(f"SHOW TABLES FROM `{dev}`")]
    assert not encrypted_server.sql(f"SHOW DATABASES LIKE '{stage_name(dev)}'")

    before, after = orm(shop_url(encrypted_server, SHOP)), orm(shop_url(encrypted_server, dev))
    # Counts (the admin log is truncated by rule), money to the cent, date ranges: equal.
    counts = {k: v for k, v in before["counts"].items() if k != "admin.LogEntry"}
    assert {k: v for k, v in after["counts"].items() if k != "admin.LogEntry"} == counts
    assert after["counts"]["admin.LogEntry"]["rows"] == 0
    assert after["money"] == before["money"]
    assert after["order_times"] == before["order_times"]
    assert after["order_status"] == before["order_status"]
    assert after["relations"] == before["relations"] and after["json"] == before["json"]
    assert after["binary"] == before["binary"]
    assert {k: v for k, v in after["reviews"].items() if k not in ("text_digest", "max_body_chars")} == \
        {k: v for k, v in before["reviews"].items() if k not in ("text_digest", "max_body_chars")}
    # Personal fields differ; the known logins no longer work; sessions are gone.
    assert after["users"]["names_digest"] != before["users"]["names_digest"]
    assert after["users"]["password_ok"] == {"admin": False, "Anna": False}
    assert before["users"]["password_ok"] == {"admin": True, "Anna": True}
    assert after["reviews"]["text_digest"] != before["reviews"]["text_digest"]
    assert after["sessions"]["decoded"] == 0 and before["sessions"]["decoded"] > 0
    assert after["users"]["empty_email"] == before["users"]["empty_email"]  # empty stays empty
    # The order numbers customers quote are new, and lookups by them still work.
    assert set(after["uuids"]["lookups"]).isdisjoint(before["uuids"]["lookups"])

    original = {r[0]: r[1:] for r in encrypted_server.sql(
        "SELECT id, username, first_name, last_name, email, password, date_joined, last_login, is_staff "
        "FROM auth_user", SHOP)}
    masked = {r[0]: r[1:] for r in encrypted_server.sql(
        "SELECT id, username, first_name, last_name, email, password, date_joined, last_login, is_staff "
        "FROM auth_user", dev)}
    assert original.keys() == masked.keys()
    for uid, (username, first, last, email, password, joined, login, staff) in masked.items():
        o = original[uid]
        assert username != o[0] and (first != o[1] or not o[1]) and (last != o[2] or not o[2])
        assert email == "" if o[3] == "" else email.endswith("@example.invalid")
        assert password.startswith("pbkdf2_sha256$") if staff else password.startswith("!")
        shift = joined - o[5]
        assert shift.days != 0 and abs(shift.days) <= 30 and shift.seconds == 0
        assert login is None if o[6] is None else login - o[6] == shift  # one shift per user
    # The dev password works for staff through Django itself.
    staff_user = next(m[0] for m in masked.values() if m[7])
    from django.contrib.auth.hashers import check_password  # noqa: E402

    _django_settings()
    stored = next(m[4] for m in masked.values() if m[0] == staff_user)
    assert check_password("dev-login-please", stored)


def _django_settings():
    from django.conf import settings

    if not settings.configured:
        settings.configure(PASSWORD_HASHERS=["django.contrib.auth.hashers.PBKDF2PasswordHasher"])


def test_the_app_still_writes_to_the_masked_copy(encrypted_server, demo_shop, dev_database):
    dev = dev_database()
    build(encrypted_server, dev)
    if str(ROOT / "include" / "demo_shop") not in sys.path:
        sys.path.insert(0, str(ROOT / "include" / "demo_shop"))
    from orm_checks import insert_smoke

    smoke = insert_smoke(shop_url(encrypted_server, dev))
    assert all(smoke["matches"].values()) and smoke["password_ok"] and smoke["session_roundtrip"]


def test_same_key_same_copy_another_key_another_copy(encrypted_server, demo_shop, dev_database):
    first, second, other = dev_database(), dev_database(), dev_database()
    build(encrypted_server, first)
    build(encrypted_server, second, workers=1, batch_rows=333)  # other batching, other order of tables
    build(encrypted_server, other, key=b"a-completely-different-key-456789")
    for table in ("auth_user", "shop_order", "shop_review", "shop_orderitem", "shop_product"):
        assert table_digest(encrypted_server, first, table) == table_digest(encrypted_server, second, table), table
    personal = "username, first_name, last_name, email, date_joined"
    a = table_digest(encrypted_server, first, "auth_user", f"id, {personal}")
    b = table_digest(encrypted_server, other, "auth_user", f"id, {personal}")
    assert len(a) == len(b)
    assert sum(x[3] != y[3] for x, y in zip(a, b) if x[3]) == sum(1 for x in a if x[3])  # every email differs
    assert sum(x[1] != y[1] for x, y in zip(a, b)) > 0.95 * len(a)
    kept = "id, is_staff, is_active, is_superuser"
    assert table_digest(encrypted_server, first, "auth_user", kept) == \
        table_digest(encrypted_server, other, "auth_user", kept)
    assert table_digest(encrypted_server, first, "shop_orderitem") == \
        table_digest(encrypted_server, other, "shop_orderitem")


@pytest.fixture
def small_source(encrypted_server):
    """A database of the test's own, with its own rules file; dropped afterwards."""
    names = []

    def make(ddl: list[str], rules_text: str, tmp_path):
        name = f"src_{len(names)}_{id(names) % 10000}"
        names.append(name)
        encrypted_server.sql(f"DROP DATABASE IF EXISTS `{name}`")
        encrypted_server.sql(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin")
        for statement in ddl:
            encrypted_server.sql(statement, name)
        rules = tmp_path / f"{name}.yaml"
        rules.write_text(rules_text)
        return name, rules

    yield make
    for name in names:
        encrypted_server.sql(f"DROP DATABASE IF EXISTS `{name}`")


def test_a_new_column_fails_the_run_by_name_before_anything_is_written(encrypted_server, demo_shop,
                                                                        dev_database, small_source, tmp_path):
    source, rules = small_source([
        "CREATE TABLE customer (id int PRIMARY KEY, email varchar(100), city varchar(50), profile json, "
        "score int)",
        "INSERT INTO customer SELECT seq, CONCAT('c', seq, '@shop.example'), 'Berlin', "
        "JSON_OBJECT('contact', JSON_OBJECT('mobile', CONCAT('+49 151 ', 1000000 + seq)), 'tier', 'gold'), seq "
        "FROM seq_1_to_50",
        "ALTER TABLE customer ADD COLUMN mystery varchar(80)",
        "UPDATE customer SET mystery = CONCAT('user', id, '@mail.example')",
    ], "tables:\n  customer:\n    columns:\n      id: {keep: surrogate key}\n"
       "      email: {mask: email}\n      score: {keep: not about people}\n", tmp_path)
    dev = dev_database()
    encrypted_server.sql(f"CREATE DATABASE `{dev}`")
    encrypted_server.sql(f"CREATE TABLE `{dev}`.untouched (id int)")
    with pytest.raises(CoverageError) as failure:
        build(encrypted_server, dev, rules=rules, source_db=source)
    message = str(failure.value)
    assert message.startswith("MASKING_UNCLASSIFIED: 3 column(s) have no masking rule")
    assert "customer.mystery  <- looks personal: the values look like email" in message
    assert "customer.city  <- looks personal: the name says lorem" in message
    assert "customer.profile  <- looks personal: JSON values look personal at $.contact.mobile: phone" in message
    assert "Berlin" not in message and "@mail.example" not in message  # values are matched, never shown
    # Nothing was written: the dev database is as it was, and no staging copy exists.
    assert encrypted_server.sql(f"SHOW TABLES FROM `{dev}`") == (("untouched",),)
    assert not encrypted_server.sql(f"SHOW DATABASES LIKE '{stage_name(dev)}'")


def test_unique_and_foreign_keys_hold_when_pseudonyms_collide(encrypted_server, small_source, dev_database,
                                                              tmp_path):
    # 2000 distinct handles into full names (about 700 x 1000 of them) and 1715 nicks into three
    # characters: pseudonyms collide, as the first assertion shows.
    source, rules = small_source([
        "CREATE TABLE person (id int PRIMARY KEY, handle varchar(40) NOT NULL UNIQUE, "
        "nick varchar(3) UNIQUE)",
        "INSERT INTO person SELECT seq, CONCAT('Handle-', seq), IF(seq % 7 = 0, NULL, LPAD(CONV(seq, 10, 36), 3, '0')) "
        "FROM seq_1_to_2000",
        "CREATE TABLE post (id int PRIMARY KEY, author varchar(40) NOT NULL, "
        "FOREIGN KEY (author) REFERENCES person (handle))",
        "INSERT INTO post SELECT seq, CONCAT('Handle-', 1 + seq % 2000) FROM seq_1_to_5000",
    ], "tables:\n  person:\n    columns:\n      id: {keep: surrogate key}\n"
       "      handle: {mask: full_name}\n      nick: {mask: pseudonym}\n"
       "  post:\n    columns:\n      id: {keep: surrogate key}\n      author: {mask: full_name}\n", tmp_path)
    naive = {build_strategy("full_name", max_chars=40).pseudonym(f"Handle-{i}", {}, Keyed(KEY)) for i in range(1, 2001)}
    assert len(naive) < 2000
    dev = dev_database()
    report = build(encrypted_server, dev, rules=rules, source_db=source)
    assert report.verify["foreign_keys_checked"] == 1 and not report.verify["problems"]
    handles = encrypted_server.sql("SELECT COUNT(*), COUNT(DISTINCT handle), COUNT(DISTINCT nick), "
                                   "SUM(handle LIKE 'Handle-%') FROM person", dev)[0]
    assert handles == (2000, 2000, 2000 - 2000 // 7, 0)
    joined = encrypted_server.sql("SELECT COUNT(*) FROM post JOIN person ON person.handle = post.author", dev)
    assert joined[0][0] == 5000
    # Equal inputs give equal outputs across tables: each post still belongs to the same person id.
    before = encrypted_server.sql("SELECT post.id, person.id FROM post JOIN person ON person.handle = post.author "
                                  "ORDER BY 1", source)
    after = encrypted_server.sql("SELECT post.id, person.id FROM post JOIN person ON person.handle = post.author "
                                 "ORDER BY 1", dev)
    assert before == after


def test_a_leak_planted_in_the_copy_is_caught_and_the_copy_dropped(encrypted_server, demo_shop, dev_database):
    dev = dev_database()
    keyed = Keyed(KEY)
    source, target = access(encrypted_server), access(encrypted_server)
    conn = source.connect()
    prepared = masking_pipeline.prepare(conn, SHOP, RULES, keyed)
    conn.close()
    masking_pipeline.copy_to_stage(source, target, SHOP, dev, prepared, keyed)
    stage = stage_name(dev)
    uid, email = encrypted_server.sql("SELECT id, email FROM auth_user WHERE email <> '' ORDER BY id LIMIT 1 "
                                      "OFFSET 7", SHOP)[0]
    # One email restored in its own row, one copied into a kept column of another table.
    encrypted_server.sql(f"UPDATE auth_user SET email = '{email}' WHERE id = {uid}", stage)
    encrypted_server.sql(f"UPDATE shop_category SET description = '{email}' WHERE id = 2", stage)
    encrypted_server.sql(f"UPDATE shop_product SET attributes = JSON_SET(attributes, '$.contact', '{email}') "
                         "WHERE id = 3", stage)
    with pytest.raises(MaskingLeak) as leak:
        masking_pipeline.verify_and_scan(source, target, SHOP, dev, prepared)
    message = str(leak.value)
    assert message.startswith("MASKING_LEAK: ")
    assert f"auth_user.email at id={uid}: equals its own original" in message
    assert "shop_category.description at id=2: a kept value equals an original" in message
    assert "shop_product.attributes at id=3: a JSON value equals an original" in message
    assert email not in message
    assert not encrypted_server.sql(f"SHOW DATABASES LIKE '{stage}'")
    assert not encrypted_server.sql(f"SHOW DATABASES LIKE '{dev}'")  # never published


def test_publishing_again_after_the_rename_keeps_the_copy(encrypted_server, demo_shop, dev_database):
    """A publish task retried after its RENAME went through must not replace the copy with nothing."""
    dev = dev_database()
    build(encrypted_server, dev)
    count = encrypted_server.sql("SELECT COUNT(*) FROM auth_user", dev)[0][0]
    assert masking_pipeline.publish_stage(access(encrypted_server), dev) == []
    assert encrypted_server.sql("SELECT COUNT(*) FROM auth_user", dev)[0][0] == count


def _ddl_lines(server, database: str, table: str) -> set[str]:
    """SHOW CREATE TABLE as a set of lines (order of the keys aside), without the AUTO_INCREMENT counter."""
    import re

    ddl = server.sql(f"SHOW CREATE TABLE `{database}`.`{table}`")[0][1]
    return {re.sub(r" AUTO_INCREMENT=\d+", "", line.rstrip(",")) for line in ddl.split("\n")}


def test_the_copy_has_every_index_and_foreign_key_of_its_source(encrypted_server, demo_shop, dev_database):
    dev = dev_database()
    report = build(encrypted_server, dev)
    copied = [name for name, entry in report.tables.items() if entry["action"] != "drop"]
    assert "shop_orderitem" in copied
    for table in copied:
        assert _ddl_lines(encrypted_server, dev, table) == _ddl_lines(encrypted_server, SHOP, table), table


def test_same_server_tells_two_servers_apart(encrypted_server, mysql_connect):
    from data_masking.masked_copy import same_server

    a, b = encrypted_server.connect(), encrypted_server.connect()
    try:
        assert same_server(a, b)
        assert not same_server(a, mysql_connect())
        assert not same_server(mysql_connect(), a)
    finally:
        a.close()
        b.close()


def test_tables_copied_inside_the_server_equal_the_streamed_ones(encrypted_server, demo_shop, dev_database,
                                                                 monkeypatch):
    from data_masking import masked_copy

    inside, streamed = dev_database(), dev_database()
    build(encrypted_server, inside, batch_rows=700)
    monkeypatch.setattr(masked_copy, "same_server", lambda *_: False)
    build(encrypted_server, streamed)
    for table in ("shop_orderitem", "shop_product_tags", "shop_product", "auth_user_groups", "shop_order"):
        expected = table_digest(encrypted_server, SHOP, table) if table != "shop_order" else None
        got = table_digest(encrypted_server, inside, table)
        assert got == table_digest(encrypted_server, streamed, table), table
        assert expected is None or got == expected, table


def test_repeated_texts_mask_as_each_value_alone(encrypted_server, demo_shop, dev_database):
    """The copy remembers masked texts per column; every row must still get its own value's pseudonym."""
    from data_masking.masking_rules import load_rules

    dev = dev_database()
    build(encrypted_server, dev, batch_rows=500)
    rule = load_rules(RULES).tables["shop_review"].columns
    originals = dict(encrypted_server.sql("SELECT id, title FROM `shop`.`shop_review`"))
    masked = dict(encrypted_server.sql(f"SELECT id, title FROM `{dev}`.`shop_review`"))
    assert len(set(originals.values())) < len(originals) / 10  # the case the memo is for
    strategy = rule["title"].build("shop_review", 200)
    keyed = Keyed(KEY)
    assert masked == {i: strategy.pseudonym(t, {}, keyed) for i, t in originals.items()}
