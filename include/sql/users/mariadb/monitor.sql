-- Monitor user (connection mysql_monitor): reads server state, never application rows.
-- PROCESS: every session in the processlist, information_schema.INNODB_TRX (long transactions)
--   and INNODB_SYS_TABLESPACES (data size on disk).
-- BINLOG MONITOR: SHOW BINARY LOGS (binlog size). SLAVE MONITOR: SHOW REPLICA STATUS (lag).
-- SELECT on performance_schema: statement digests (top statements by total time).
-- At most 3 sessions: a stuck monitor cannot eat the connections it is watching.
GRANT PROCESS, BINLOG MONITOR, SLAVE MONITOR ON *.* TO {account};
GRANT SELECT ON performance_schema.* TO {account};
ALTER USER {account} WITH MAX_USER_CONNECTIONS 3;
