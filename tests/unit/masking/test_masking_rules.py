"""Rules files, coverage hints, Arrow types and key files: the parts with no server."""
from __future__ import annotations

import os
import stat

import pytest

from data_masking import RULES_DIR, MaskingError
from data_masking.masking_coverage import _value_hint
from data_masking.masking_rules import load_rules
from data_masking.masking_schema import Column
from data_masking.parquet_snapshot import arrow_type
from mysql_common.errors import ConfigurationError
from mysql_hardening import encryption_at_rest


def write(tmp_path, text: str, name: str = "db.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_the_demo_shop_rules_classify_django_and_the_shop():
    rules = load_rules(RULES_DIR / "demo_shop.yaml")
    user = rules.tables["auth_user"].columns
    assert user["email"].strategy == "email" and user["password"].strategy == "django_password"
    assert user["last_login"].options["entity"] == "id"
    assert rules.tables["django_session"].action == "truncate"
    assert rules.tables["_s2m_quarantine"].action == "drop"
    assert rules.tables["shop_order"].columns["note"].strategy == "lorem"
    assert all(r.reason for t in rules.tables.values() for r in t.columns.values() if r.keep)


def test_a_project_file_overrides_what_it_extends_column_by_column(tmp_path):
    path = write(tmp_path, "extends: [django]\ntables:\n  auth_user:\n    columns:\n"
                           "      email: {mask: email, mail_domain: dev.example}\n      username: {keep: public handles}\n")
    rules = load_rules(path)
    user = rules.tables["auth_user"].columns
    assert user["username"].keep and user["first_name"].strategy == "first_name"


@pytest.mark.parametrize("text, message", [
    ("tables:\n  t:\n    columns:\n      c: {keep: }\n", "keep needs a reason"),
    ("tables:\n  t:\n    columns:\n      c: {keep: why, mask: email}\n", "keep needs a reason"),
    ("tables:\n  t:\n    columns:\n      c: scramble\n", "unknown strategy"),
    ("tables:\n  t: {truncate: }\n", "needs a reason"),
    ("tables:\n  t: {columns: {c: {mask: fixed}}}\n", "fixed needs `value`"),
    ("tables:\n  t: {columns: {c: {mask: email, domain: d, options: 1}}}\nextra: 1\n", "unknown top-level"),
    ("extends: [nowhere]\n", "is none of"),
    ("tables: [\n", "not valid YAML"),
])
def test_bad_rules_are_refused_with_the_place_named(tmp_path, text, message):
    with pytest.raises(MaskingError, match=message):
        load_rules(write(tmp_path, text))


def test_extends_cycles_are_refused(tmp_path):
    write(tmp_path, "extends: [b]\n", "a.yaml")
    write(tmp_path, "extends: [a]\n", "b.yaml")
    with pytest.raises(MaskingError, match="extends itself"):
        load_rules(tmp_path / "a.yaml")


@pytest.mark.parametrize("values, kind", [
    (["anna@example.com", "bob@shop.example", ""], "email"),
    (["+49 30 1234567", "(030) 123-4567"], "phone"),
    (["4111111111111111", "5500 0000 0000 0004"], "card"),
    (["10.0.0.1", "192.168.1.20"], "ip"),
    (["red", "blue", "green"], None),
    (["0123456789abcdef0123456789abcdef"], "pseudonym"),
])
def test_values_that_look_personal_are_recognised(values, kind):
    assert _value_hint(values) == kind


def column(data_type, column_type, **kw):
    base = dict(nullable=True, max_chars=None, charset=None, precision=None, scale=None, datetime_precision=None,
                generated=False)
    base.update(kw)
    return Column("c", data_type, column_type, **base)


def test_arrow_types_are_faithful():
    import pyarrow as pa

    assert arrow_type(column("decimal", "decimal(12,2)", precision=12, scale=2)) == pa.decimal128(12, 2)
    assert arrow_type(column("decimal", "decimal(65,30)", precision=65, scale=30)) == pa.decimal256(65, 30)
    assert arrow_type(column("datetime", "datetime(6)")) == pa.timestamp("us", tz="UTC")
    assert arrow_type(column("timestamp", "timestamp")) == pa.timestamp("us", tz="UTC")
    assert arrow_type(column("longtext", "longtext", json=True)) == pa.string()
    assert arrow_type(column("uuid", "uuid")) == pa.string()
    assert arrow_type(column("blob", "blob")) == pa.binary()
    assert arrow_type(column("int", "int(10) unsigned")) == pa.uint32()
    assert arrow_type(column("bigint", "bigint(20)")) == pa.int64()
    assert arrow_type(column("time", "time(6)")) == pa.duration("us")


def test_key_files_are_private_and_never_inside_the_datadir(tmp_path):
    datadir = tmp_path / "data"
    datadir.mkdir()
    keys = {1: encryption_at_rest.new_key(), 2: encryption_at_rest.new_key()}
    with pytest.raises(ConfigurationError, match="inside the data directory"):
        encryption_at_rest.write_key_file(datadir / "keys" / "k", keys, datadir=datadir)
    path = encryption_at_rest.write_key_file(tmp_path / "keys" / "k", keys, datadir=datadir)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    lines = path.read_text().splitlines()
    assert [line.split(";")[0] for line in lines] == ["1", "2"] and all(len(line) == 66 for line in lines)
    assert encryption_at_rest.key_file_problems(path, datadir) == []
    os.chmod(path, 0o644)
    assert "readable by others" in encryption_at_rest.key_file_problems(path, datadir)[0]
    with pytest.raises(ConfigurationError, match="key id 1"):
        encryption_at_rest.key_file_text({2: keys[2]})
