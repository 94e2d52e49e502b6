-- Backup user (connection mysql_backup), checked privilege by privilege on MariaDB 10.11:
--   mariadb-dump --single-transaction --routines --events --triggers --master-data=2 --gtid
--   mariadb-binlog --read-from-remote-server --raw, SHOW BINARY LOGS, FLUSH BINARY LOGS
-- SELECT, SHOW VIEW, EVENT: without any of them the dump fails.
-- TRIGGER: without it the dump SUCCEEDS but silently leaves the triggers out.
-- SELECT ON mysql.proc: without it the dump SUCCEEDS but silently leaves routines out
--   (MariaDB 10.11 has no SHOW CREATE ROUTINE privilege).
-- BINLOG MONITOR (alias REPLICATION CLIENT): SHOW BINARY LOGS / SHOW MASTER STATUS.
-- REPLICATION SLAVE: reading binlogs from the server (--read-from-remote-server).
-- RELOAD: FLUSH BINARY LOGS, to close the current binlog before it is shipped.
-- Not needed (checked): LOCK TABLES (--single-transaction takes none), PROCESS; with
-- --master-data the position comes from the consistent snapshot, without FLUSH TABLES.
GRANT RELOAD, BINLOG MONITOR, REPLICATION SLAVE ON *.* TO {account};
GRANT SELECT, SHOW VIEW, TRIGGER, EVENT ON {database}.* TO {account};
GRANT SELECT ON mysql.proc TO {account};
