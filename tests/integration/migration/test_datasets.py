"""Real databases move into MariaDB with every row and value accounted for, by both bulk
paths; the values that other tools lose are checked in MySQL itself."""
from decimal import Decimal

import pytest

from support.migrate import migrate
from support.torture import LONG_NAME, build_clean

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("dataset", ["chinook.sqlite", "northwind.sqlite", "sakila.sqlite"])
@pytest.mark.parametrize("method", ["load_data", "insert"])
def test_real_datasets_verify_clean(dataset, method, dataset_copy, new_database, mysql_params, tmp_path):
    source = dataset_copy(dataset)
    result = migrate(source, new_database("ds"), mysql_params, tmp_path, method=method)
    assert result["status"] == "OK"
    for table in result["tables"]:
        assert table["source_rows"] == table["target_rows"] > 0 or table["source_rows"] == 0
        assert table["checksum"] == "OK"
    assert result["totals"]["source_rows"] == {"chinook.sqlite": 15607, "northwind.sqlite": 3310,
                                               "sakila.sqlite": 47273}[dataset]


def test_torture_database_keeps_every_value(new_database, mysql_params, mysql_connect, tmp_path):
    source = build_clean(tmp_path / "torture.sqlite")
    db = new_database("torture")
    result = migrate(source, db, mysql_params, tmp_path)
    assert result["status"] == "OK", result
    cur = mysql_connect(db).cursor()

    cur.execute("SELECT price, amount FROM `Order Lines` ORDER BY id")
    assert cur.fetchall()[:2] == ((Decimal("19.99"), Decimal("10.50")), (Decimal("0.10"), Decimal("0.99")))
    cur.execute("SELECT CAST(ts AS CHAR), CAST(dt AS CHAR) FROM moments WHERE id = 2")
    assert cur.fetchone() == ("2020-03-01 08:00:00.000000", "2020-03-01 10:00:00.000000")
    cur.execute("SELECT `from`, `quote\"d`, `weird ``name` FROM `order` WHERE `select` = 1")
    assert cur.fetchone() == ("tab\there", "it's", "new\nline")
    cur.execute("SELECT `quote\"d` FROM `order` WHERE `select` = 2")
    assert cur.fetchone()[0] == "\U0001F600 emoji"
    cur.execute("SELECT blobby FROM texts ORDER BY id")
    assert [r[0] for r in cur.fetchall()] == [bytes(range(256)), b"\x00\t\n\\\xff", b"", None]
    cur.execute("SELECT nul_text, LENGTH(body) FROM texts WHERE id = 1")
    assert cur.fetchone() == ("nul\x00inside", 70000)
    cur.execute("SELECT r FROM numbers WHERE id = 1")
    assert cur.fetchone()[0] == 0.30000000000000004
    cur.execute("SELECT username FROM users ORDER BY id")
    assert [r[0] for r in cur.fetchall()] == ["Anna", "anna", "a", "a ", "\u00e1", "A"]
    cur.execute("SELECT COUNT(*) FROM nokey")
    assert cur.fetchone()[0] == 4  # duplicate rows of a table without a key survive
    cur.execute("SELECT AUTO_INCREMENT FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s "
                "AND TABLE_NAME = 'order'", (db,))
    assert cur.fetchone()[0] == 10  # sqlite_sequence was 9: deleted id 9 is never reused
    cur.execute("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s AND TABLE_NAME LIKE %s",
                (db, LONG_NAME[:40] + "%"))
    assert cur.fetchone()[0] == 1
    cur.execute("SELECT COLUMN_NAME, COLLATION_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = %s "
                "AND TABLE_NAME = 'users' AND COLUMN_NAME = 'username'", (db,))
    assert cur.fetchone()[1] == "utf8mb4_nopad_bin"
    cur.execute("SHOW INDEX FROM longkeys WHERE Key_name LIKE 'uq_%%'")
    assert cur.fetchall(), "the long UNIQUE key exists (as a MariaDB long unique)"
    cur.execute("INSERT INTO `order` (`from`) VALUES ('new row')")
    assert cur.lastrowid == 10


def test_a_second_run_replaces_its_own_tables_and_refuses_foreign_ones(new_database, mysql_params, mysql_connect,
                                                                      dataset_copy, tmp_path):
    from sqlite_to_mysql.errors import TargetStateError
    from sqlite_to_mysql.target_state import INTERNAL

    source = dataset_copy("chinook.sqlite")
    db = new_database("rerun")
    migrate(source, db, mysql_params, tmp_path, run_id="first")
    result = migrate(source, db, mysql_params, tmp_path, run_id="second")
    assert result["status"] == "OK" and result["totals"]["target_rows"] == 15607
    other = new_database("foreign")
    cur = mysql_connect().cursor()
    cur.execute(f"CREATE DATABASE `{other}`")
    cur.execute(f"CREATE TABLE `{other}`.`Artist` (id INT PRIMARY KEY)")
    with pytest.raises(TargetStateError, match="did not create"):
        migrate(source, other, mysql_params, tmp_path)
    cur.execute(f"SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s", (other,))
    assert cur.fetchone()[0] == 1 + len(INTERNAL)  # the foreign table untouched; only bookkeeping tables added
