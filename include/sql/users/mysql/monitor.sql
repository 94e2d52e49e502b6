-- Monitor user (connection mysql_monitor; also mysql_query_insights') on MySQL 8.4: reads server
-- state, never rows.
-- PROCESS: all sessions, INNODB_TRX, INNODB_TABLESPACES; it also shows every session's statement
--   text as it runs, literals included (docs/hardening.md). REPLICATION CLIENT: SHOW BINARY LOGS
--   and SHOW REPLICA STATUS.
-- performance_schema, table by table, only what the two DAGs read (see the MariaDB file beside
--   this one for each table's use); not performance_schema.*, which adds other sessions' user
--   variables, connection attributes and more statement history. The digest summary's
--   QUERY_SAMPLE_TEXT and events_statements_history_long keep statements with their literals.
GRANT PROCESS, REPLICATION CLIENT ON *.* TO {account};
GRANT SELECT ON performance_schema.events_statements_summary_by_digest TO {account};
GRANT SELECT ON performance_schema.setup_consumers TO {account};
GRANT SELECT ON performance_schema.events_statements_history_long TO {account};
GRANT SELECT ON performance_schema.table_io_waits_summary_by_index_usage TO {account};
ALTER USER {account} WITH MAX_USER_CONNECTIONS 3;
