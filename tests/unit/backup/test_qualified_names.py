"""Statements naming the source database explicitly are caught before a renamed restore."""
from __future__ import annotations

import pytest

from mysql_backup.qualified_names import BinlogStatementScan, DumpGuard
from mysql_common.errors import PermanentError

DUMP = (b"CREATE TABLE `t` (`id` int);\nINSERT INTO `t` VALUES\n(1,'see shop.example.com'),\n(2,'x;');\n"
        b"/*!50003 CREATE*/ /*!50003 TRIGGER tr BEFORE INSERT ON t FOR EACH ROW SET NEW.v = 1 */;;\n")


def feed(guard, data: bytes, size: int) -> None:
    for start in range(0, len(data), size):
        guard(memoryview(data)[start:start + size])


@pytest.mark.parametrize("size", [1, 5, 64, 1 << 20])
def test_row_data_mentioning_the_name_is_fine(size):
    feed(DumpGuard("shop"), DUMP, size)


@pytest.mark.parametrize("size", [1, 7, 1 << 20])
def test_qualified_trigger_is_refused(size):
    bad = DUMP + b"/*!50003 trigger shop.tr2 before insert on shop.t for each row set new.v=1 */;;\n"
    with pytest.raises(PermanentError, match="naming database 'shop'"):
        feed(DumpGuard("shop"), bad, size)


def test_other_database_names_are_fine():
    feed(DumpGuard("shop"), b"CREATE VIEW v AS SELECT * FROM workshop.t, `shop_x`.t;\n", 3)


BINLOG = """DELIMITER /*!*/;
use `shop`/*!*/;
SET TIMESTAMP=1/*!*/;
create table t2 (i int)
/*!*/;
use `other`/*!*/;
insert into other.x values (1)
/*!*/;
"""


def scan(text: str, renaming: bool) -> list[str]:
    scanner = BinlogStatementScan("shop", renaming)
    scanner(memoryview(text.encode()))
    return scanner.finish()


def test_binlog_scan():
    assert scan(BINLOG, renaming=True) == []
    dropped = BINLOG + "use `other`/*!*/;\nalter table shop.t add column c int\n/*!*/;\n"
    assert "replaying only 'shop' would drop it" in scan(dropped, renaming=False)[0]
    qualified = BINLOG + "use `shop`/*!*/;\ndrop table `shop`.`t2`\n/*!*/;\n"
    assert scan(qualified, renaming=False) == []
    assert "would change 'shop' itself" in scan(qualified, renaming=True)[0]
