-- Backup user (connection mysql_backup) on MySQL 8.4, from the MySQL 8.4 manual (not checked
-- against a live MySQL server here; the MariaDB file beside this one is):
--   mysqldump --single-transaction --routines --events --triggers --source-data=2
--   mysqlbinlog --read-from-remote-server --raw, SHOW BINARY LOGS, FLUSH BINARY LOGS
-- SELECT, SHOW VIEW, TRIGGER, EVENT: data, views, triggers, events.
-- SHOW_ROUTINE (8.0.20+): routine bodies of other definers (MariaDB reads mysql.proc instead).
-- RELOAD: FLUSH TABLES WITH READ LOCK for --source-data, and FLUSH BINARY LOGS.
-- PROCESS: mysqldump reads tablespace information (8.0.21+).
-- REPLICATION CLIENT: SHOW BINARY LOGS / SHOW BINARY LOG STATUS.
-- REPLICATION SLAVE: reading binlogs from the server.
GRANT RELOAD, PROCESS, REPLICATION CLIENT, REPLICATION SLAVE ON *.* TO {account};
GRANT SHOW_ROUTINE ON *.* TO {account};
GRANT SELECT, SHOW VIEW, TRIGGER, EVENT ON {database}.* TO {account};
