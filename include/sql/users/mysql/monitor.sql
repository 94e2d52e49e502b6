-- Monitor user (connection mysql_monitor) on MySQL 8.4: reads server state, never rows.
-- PROCESS: all sessions, INNODB_TRX, INNODB_TABLESPACES. REPLICATION CLIENT: SHOW BINARY LOGS
-- and SHOW REPLICA STATUS. SELECT on performance_schema: statement digests.
GRANT PROCESS, REPLICATION CLIENT ON *.* TO {account};
GRANT SELECT ON performance_schema.* TO {account};
ALTER USER {account} WITH MAX_USER_CONNECTIONS 3;
