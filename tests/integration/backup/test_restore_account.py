"""The restore account of docs/backups.md is enough for restores, PITR, drills and overwrites."""
from __future__ import annotations

import pytest

from mysql_backup.access import SimpleAccess
from mysql_backup.binlog_ship import ship_binlogs
from mysql_backup.drill import run_drill
from mysql_backup.full_backup import take_full_backup
from mysql_backup.restore import restore_backup
from mysql_common.errors import ConfigurationError

pytestmark = pytest.mark.integration

# Kept identical to the grants documented in docs/backups.md ("The restore account").
RESTORE_GRANTS = [
    "GRANT SUPER, PROCESS ON *.* TO {account}",
    "GRANT ALL PRIVILEGES ON `shop\\_restore\\_%`.* TO {account}",
    "GRANT ALL PRIVILEGES ON `drill\\_%`.* TO {account}",
]
OBJECTS = ["CREATE TABLE t (id int PRIMARY KEY, v varchar(10))", "INSERT INTO t VALUES (1, 'a')",
           "CREATE VIEW vv AS SELECT id FROM t",
           "CREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW SET NEW.v = UPPER(NEW.v)",
           "CREATE PROCEDURE p() SELECT 42",
           "CREATE EVENT e ON SCHEDULE EVERY 1 DAY DO DELETE FROM t WHERE id < 0"]


def test_documented_restore_account_suffices(source, storage, age_key, scratch_cleanup):
    for statement in OBJECTS:
        source.sql(statement)
    source.sql("CREATE USER restore_u@'%' IDENTIFIED BY 'Rst-pw-1'", None)
    for grant in RESTORE_GRANTS:
        source.sql(grant.format(account="restore_u@'%'"), None)
    take_full_backup(source.access, storage, age_key, server="src")
    source.sql("INSERT INTO t VALUES (2, 'b')")
    ship_binlogs(source.access, storage, age_key, server="src")
    account = SimpleAccess("127.0.0.1", source.server.port, "restore_u", "Rst-pw-1", "shop")

    scratch_cleanup.append("shop_restore_1")
    restore_backup(account, storage, age_key, server="src", target_database="shop_restore_1")
    assert source.sql("SELECT id, v FROM t ORDER BY id", "shop_restore_1") == ((1, "a"), (2, "B"))
    assert source.scalar("SELECT COUNT(*) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = "
                         "'shop_restore_1'", None) == 1
    assert not run_drill(account, storage, age_key, server="src").problems
    restore_backup(account, storage, age_key, server="src", target_database="shop_restore_1", overwrite=True)

    # Without PROCESS it cannot see the application's sessions: overwriting is refused.
    source.sql("REVOKE PROCESS ON *.* FROM restore_u@'%'", None)
    with pytest.raises(ConfigurationError, match="needs the PROCESS privilege"):
        restore_backup(account, storage, age_key, server="src", target_database="shop_restore_1", overwrite=True)
