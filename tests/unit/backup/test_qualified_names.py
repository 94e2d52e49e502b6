"""Statements naming the source database explicitly are caught before a renamed restore; the
same characters inside a string literal or a comment are not a reference."""
from __future__ import annotations

import pytest

from mysql_backup.qualified_names import BinlogStatementScan, DumpGuard, qualified_references
from mysql_common.errors import PermanentError

DUMP = (b"/*M!999999\\- enable the sandbox mode */ \n-- MariaDB dump 10.19\n"
        b"CREATE TABLE `t` (`id` int) COMMENT='mirror of shop.example.com';\n"
        b"INSERT INTO `t` VALUES\n(1,'see shop.example.com'),\n(2,'x;'),\n(3,'a\\';\\nDROP shop.t');\n"
        b"/*!50003 SET sql_mode = 'STRICT_TRANS_TABLES' */ ;\nDELIMITER ;;\n"
        b"/*!50003 CREATE*/ /*!50003 TRIGGER tr BEFORE INSERT ON t FOR EACH ROW SET NEW.v = 'shop.t' */;;\n"
        b"DELIMITER ;\n"
        b"CREATE TABLE `u` (`id` int) /* copied from shop.items */;\n"
        b"CREATE TABLE `v` (`id` int COMMENT \"old shop.v\")\n-- shop.w, see above\n# shop.x\n;\n")


def feed(guard, data: bytes, size: int) -> None:
    for start in range(0, len(data), size):
        guard(memoryview(data)[start:start + size])
    guard.finish()


@pytest.mark.parametrize("size", [1, 2, 3, 5, 64, 1 << 20])
def test_row_data_strings_and_comments_mentioning_the_name_are_fine(size):
    feed(DumpGuard("shop"), DUMP, size)


@pytest.mark.parametrize("size", [1, 7, 1 << 20])
@pytest.mark.parametrize("statement", [
    b"DELIMITER ;;\n/*!50003 trigger shop.tr2 before insert on shop.t for each row set new.v=1 */;;\nDELIMITER ;\n",
    b"CREATE VIEW v AS SELECT * FROM `shop`.`t`;\n",
    b"CREATE VIEW v AS SELECT * FROM SHOP . /* spaced */ t;\n",
    b"GRANT SELECT ON shop.* TO x;\n",
    b"/*!50003 SET sql_mode = 'ANSI_QUOTES' */;\nCREATE VIEW v AS SELECT * FROM \"shop\".\"t\";\n",
])
def test_qualified_names_are_refused_wherever_the_chunks_split(size, statement):
    with pytest.raises(PermanentError, match="naming database 'shop'"):
        feed(DumpGuard("shop"), DUMP + statement, size)


def test_a_refused_statement_is_caught_before_its_chunk_reaches_the_client():
    """The tap raises on the chunk that completes the statement, which is not forwarded."""
    bad = b"ALTER TABLE shop.t ADD c int;"
    guard = DumpGuard("shop")
    guard(memoryview(DUMP))
    with pytest.raises(PermanentError):
        guard(memoryview(bad))  # the delimiter is the chunk's very last byte


def test_other_database_names_and_lookalikes_are_fine():
    feed(DumpGuard("shop"), b"CREATE VIEW v AS SELECT * FROM workshop.t, `shop_x`.t, x.shop.t, @shop.x;\n", 3)
    assert qualified_references(b"SELECT \"shop\".t", "shop") == []  # a string without ANSI_QUOTES
    assert qualified_references(b"SELECT \"shop\".t", "shop", ansi_quotes=True) == ['"shop".t']
    assert qualified_references(b"SELECT 'shop'.t, `sh``op`.t", "sh`op") == ["`sh``op`.t"]


BINLOG = b"""/*!50530 SET @@SESSION.PSEUDO_SLAVE_MODE=1*/;
DELIMITER /*!*/;
# at 4
use `shop`/*!*/;
SET TIMESTAMP=1/*!*/;
create table t2 (i int)
/*!*/;
# at 300
ALTER TABLE items COMMENT 'mirror of shop.example.com'
/*!*/;
use `other`/*!*/;
insert into other.x values ('shop.y')
/*!*/;
DELIMITER ;
# End of log file
"""


def scan(text: bytes, renaming: bool, size: int = 1 << 20) -> list[str]:
    scanner = BinlogStatementScan("shop", renaming)
    for start in range(0, len(text), size):
        scanner(memoryview(text)[start:start + size])
    return scanner.result()


@pytest.mark.parametrize("size", [1, 4, 1 << 20])
def test_binlog_scan(size):
    assert scan(BINLOG, renaming=True, size=size) == []
    dropped = BINLOG + b"use `other`/*!*/;\nalter table shop.t add column c int\n/*!*/;\n"
    assert "replaying only 'shop' would drop it" in scan(dropped, renaming=False, size=size)[0]
    qualified = BINLOG + b"use `shop`/*!*/;\ndrop table `shop`.`t2`\n/*!*/;\n"
    assert scan(qualified, renaming=False, size=size) == []
    assert "would change 'shop' itself" in scan(qualified, renaming=True, size=size)[0]


def test_binlog_ansi_quotes_follow_the_session_sql_mode():
    ansi = (BINLOG + b"SET @@session.sql_mode=1411383300/*!*/;\nuse `shop`/*!*/;\n"
            b"alter table \"shop\".t2 add c int\n/*!*/;\n")
    assert "would change 'shop' itself" in scan(ansi, renaming=True)[0]
    plain = (BINLOG + b"SET @@session.sql_mode=1411383296/*!*/;\nuse `shop`/*!*/;\n"
             b"alter table t2 comment \"shop.t\"\n/*!*/;\n")
    assert scan(plain, renaming=True) == []
