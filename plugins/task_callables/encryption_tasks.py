"""Task callables of the mysql_hardening DAG's encryption_at_rest group (mysql_hardening.encryption_at_rest)."""
from __future__ import annotations

import logging

from mysql_common.errors import PermanentError
from mysql_hardening import encryption_at_rest
from task_callables.hardening_tasks import mysql

log = logging.getLogger(__name__)


def check_encryption(admin_conn_id: str) -> dict:
    """Report: the key plugin, the settings, and every unencrypted tablespace as a health finding."""
    with mysql(admin_conn_id, "an administrative account (PROCESS, to read InnoDB's tablespace list)",
               with_database=False) as conn:
        state = encryption_at_rest.status(conn)
    result = encryption_at_rest.finding(state)
    for name in state.unencrypted:
        log.warning("tablespace %s is not encrypted at rest", name)
    (log.warning if result["status"] == "alert" else log.info)("%s [%s] %s", result["code"], result["status"],
                                                               result["summary"])
    return {"finding": result, "status": state.as_dict()}


def encrypt_tables(target_conn_id: str, admin_conn_id: str, key_id: int | None) -> dict:
    """Encrypt the application database's tables in place; fail if one stays unencrypted."""
    from hooks.mysql_server_hook import MySqlServerHook

    database = MySqlServerHook(target_conn_id).database_name()
    with mysql(target_conn_id, "the migration user, which owns the schema") as conn:
        changed = encryption_at_rest.encrypt_existing_tables(conn, database, key_id=key_id)
    for table in changed:
        log.info("encrypted %s.%s in place", database, table)
    with mysql(admin_conn_id, "an administrative account", with_database=False) as conn:
        left = [n for n in encryption_at_rest.status(conn).unencrypted if n.startswith(f"{database}/")]
    if left:
        raise PermanentError(f"still unencrypted after the rebuild: {', '.join(left)}")
    return {"database": database, "encrypted": changed}
