"""Parquet snapshots read back with pandas (local and S3), and tablespaces encrypted on disk."""
from __future__ import annotations

import time
import uuid
from decimal import Decimal

import pytest

from data_masking import masking_pipeline
from data_masking.masking_strategies import Keyed
from data_masking.parquet_snapshot import check_snapshot, export_snapshot
from masking_support import KEY, RULES, SHOP, access
from mysql_backup.storage import LocalStorage
from mysql_hardening import encryption_at_rest

pytestmark = pytest.mark.integration


@pytest.fixture
def conn(encrypted_server):
    connection = access(encrypted_server).connect()
    yield connection
    connection.close()


@pytest.fixture(scope="module")
def masked(encrypted_server, demo_shop):
    dev = f"parquet_{uuid.uuid4().hex[:6]}"
    masking_pipeline.build(access(encrypted_server), access(encrypted_server), SHOP, dev, RULES, Keyed(KEY))
    yield dev
    encrypted_server.sql(f"DROP DATABASE IF EXISTS `{dev}`")


def test_parquet_round_trip_with_pandas_types_counts_and_cents(encrypted_server, masked, conn, tmp_path):
    import pandas as pd
    import pyarrow.parquet as pq

    storage = LocalStorage(tmp_path / "snapshots")
    manifest = export_snapshot(conn, masked, storage, snapshot_id="s1", batch_rows=700)  # many row groups
    assert check_snapshot(conn, masked, storage, manifest) == []
    base = tmp_path / "snapshots" / masked / "s1"
    for table, entry in manifest["tables"].items():
        frame = pd.read_parquet(base / table)  # the one line from docs/masking.md
        count = encrypted_server.sql(f"SELECT COUNT(*) FROM `{table}`", masked)[0][0]
        assert len(frame) == count == entry["rows"], table
    orders = pd.read_parquet(base / "shop_order")
    mysql_total, first, last = encrypted_server.sql("SELECT SUM(total), MIN(created_at), MAX(created_at) "
                                                    "FROM shop_order", masked)[0]
    assert orders["total"].sum() == mysql_total and isinstance(orders["total"].iloc[0], Decimal)
    assert str(orders["created_at"].dtype) == "datetime64[us, UTC]"
    assert orders["created_at"].min().to_pydatetime().replace(tzinfo=None) == first
    assert orders["created_at"].max().to_pydatetime().replace(tzinfo=None) == last
    items = pd.read_parquet(base / "shop_orderitem")
    line_total = sum(q * p for q, p in zip(items["quantity"], items["unit_price"]))
    mysql_lines = encrypted_server.sql("SELECT SUM(quantity * unit_price) FROM shop_orderitem", masked)[0][0]
    assert line_total == mysql_lines  # to the cent, no float on the way
    schema = pq.read_schema(base / "shop_product" / "part-00000.parquet")
    assert str(schema.field("price").type) == "decimal128(10, 2)"
    assert str(schema.field("thumbnail").type) == "binary" and str(schema.field("attributes").type) == "string"
    thumbs = encrypted_server.sql("SELECT id, thumbnail FROM shop_product ORDER BY id", masked)
    products = pd.read_parquet(base / "shop_product").sort_values("id")
    assert list(products["thumbnail"]) == [t for _, t in thumbs]  # bytes exactly, NULL and empty kept apart
    users = pd.read_parquet(base / "auth_user")
    assert users["email"].str.endswith("@example.invalid").sum() == (users["email"] != "").sum()
    # A flipped byte in a stored file is named by the check.
    key = manifest["tables"]["shop_tag"]["files"][0]["key"]
    path = tmp_path / "snapshots" / key
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    assert check_snapshot(conn, masked, storage, manifest) == [
        f"{key}: size or SHA-256 differs from the manifest",
        f"shop_tag: 0 rows in Parquet, {manifest['tables']['shop_tag']['rows']} in MySQL, "
        f"{manifest['tables']['shop_tag']['rows']} in the manifest"]


def test_parquet_snapshot_to_s3(encrypted_server, masked, conn, moto_server):
    import boto3
    import pyarrow.fs
    import pyarrow.parquet as pq

    from mysql_backup.s3_storage import S3Storage

    client = boto3.client("s3", endpoint_url=moto_server, region_name="us-east-1", aws_access_key_id="testing",
                          aws_secret_access_key="testing")
    bucket = f"analytics-{uuid.uuid4().hex[:8]}"
    client.create_bucket(Bucket=bucket)
    storage = S3Storage(client, bucket, "parquet", part_size=5 * 1024 * 1024)
    manifest = export_snapshot(conn, masked, storage, snapshot_id="s3run")
    assert check_snapshot(conn, masked, storage, manifest) == []
    fs = pyarrow.fs.S3FileSystem(endpoint_override=moto_server, access_key="testing", secret_key="testing",
                                 region="us-east-1", scheme="http")
    table = pq.read_table(f"{bucket}/parquet/{masked}/s3run/shop_order", filesystem=fs)
    assert table.num_rows == manifest["tables"]["shop_order"]["rows"]


def _flush(server) -> None:
    server.sql("SET GLOBAL innodb_max_dirty_pages_pct = 0")
    server.sql("SET GLOBAL innodb_max_dirty_pages_pct_lwm = 0")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        dirty = server.sql("SHOW GLOBAL STATUS LIKE 'Innodb_buffer_pool_pages_dirty'")[0][1]
        if int(dirty) == 0:
            return
        time.sleep(0.2)
    raise AssertionError("InnoDB did not flush its dirty pages within 60 s")


def test_tables_are_encrypted_in_place_and_the_raw_file_loses_the_plaintext(private_mariadb, tmp_path):
    key_file = encryption_at_rest.write_key_file(tmp_path / "keys" / "keyfile", {1: encryption_at_rest.new_key(),
                                                                                 2: encryption_at_rest.new_key()})
    options = {**encryption_at_rest.mariadb_options(key_file), "innodb-encrypt-tables": "OFF"}
    server = private_mariadb(options=options)
    marker = b"PLAINTEXT-CARD-4111111111111111"
    server.sql("CREATE DATABASE shop")
    server.sql("CREATE TABLE shop.payment (id int PRIMARY KEY, card varchar(64)) ENCRYPTED=NO")
    server.sql(f"INSERT INTO payment SELECT seq, '{marker.decode()}' FROM seq_1_to_200", "shop")
    _flush(server)
    ibd = server.datadir / "shop" / "payment.ibd"
    assert marker in ibd.read_bytes()  # the check below can see plaintext when it is there
    conn = server.connect()
    before = encryption_at_rest.status(conn)
    assert before.keyring and "shop/payment" in before.unencrypted
    found = encryption_at_rest.finding(before)
    assert found["status"] == "alert" and found["code"] == "UNENCRYPTED_TABLESPACE"
    assert "shop/payment" in found["details"]["unencrypted"]

    assert encryption_at_rest.encrypt_existing_tables(conn, "shop") == ["payment"]
    _flush(server)
    assert marker not in ibd.read_bytes()
    after = encryption_at_rest.status(conn)
    assert "shop/payment" not in after.unencrypted
    assert next(t for t in after.tablespaces if t.name == "shop/payment").key_id == 1
    assert server.sql("SELECT COUNT(*) FROM shop.payment WHERE card = %s" % repr(marker.decode()))[0][0] == 200
    # Key rotation: the table moves to key 2, rewritten under it.
    assert encryption_at_rest.encrypt_existing_tables(conn, "shop", key_id=2) == ["payment"]
    assert next(t for t in encryption_at_rest.status(conn).tablespaces if t.name == "shop/payment").key_id == 2
    assert encryption_at_rest.encrypt_existing_tables(conn, "shop", key_id=2) == []  # idempotent
    conn.close()


def test_a_server_without_a_key_plugin_is_a_finding(private_mariadb):
    server = private_mariadb()
    conn = server.connect()
    state = encryption_at_rest.status(conn)
    assert not state.keyring
    assert encryption_at_rest.finding(state)["code"] == "ENCRYPTION_AT_REST_OFF"
    with pytest.raises(Exception, match="no key management plugin"):
        encryption_at_rest.encrypt_existing_tables(conn, "mysql")
    conn.close()


def test_the_masking_server_runs_encrypted(encrypted_server, demo_shop):
    conn = encrypted_server.connect()
    state = encryption_at_rest.status(conn)
    conn.close()
    assert state.keyring and state.settings["innodb_encrypt_log"] == "ON"
    assert not [t for t in state.unencrypted if t.startswith(f"{SHOP}/")]
