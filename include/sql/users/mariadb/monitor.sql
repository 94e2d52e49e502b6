-- Monitor user (connection mysql_monitor; also mysql_query_insights'): reads server state, never
-- application rows.
-- PROCESS: every session in the processlist, information_schema.INNODB_TRX (long transactions)
--   and INNODB_SYS_TABLESPACES (data size on disk). PROCESS also shows the statement text of
--   every session as it runs, literals included (customer data): the monitor masks literals in
--   what it reports, but whoever holds this login can read them (docs/hardening.md).
-- BINLOG MONITOR: SHOW BINARY LOGS (binlog size). SLAVE MONITOR: SHOW REPLICA STATUS (lag).
-- performance_schema, table by table, only what the two DAGs read (not performance_schema.*,
--   which adds other sessions' user variables, connection attributes and statement history):
--   events_statements_summary_by_digest: top statements (DIGEST_TEXT has literals replaced by ?);
--   setup_consumers: query insights checks that digests are collected;
--   events_statements_history_long: query insights' per-statement latencies and the sample
--     statement it EXPLAINs; it keeps recent statements' full text, literals included;
--   table_io_waits_summary_by_index_usage: unused indexes.
-- At most 3 sessions: a stuck monitor cannot eat the connections it is watching.
GRANT PROCESS, BINLOG MONITOR, SLAVE MONITOR ON *.* TO {account};
GRANT SELECT ON performance_schema.events_statements_summary_by_digest TO {account};
GRANT SELECT ON performance_schema.setup_consumers TO {account};
GRANT SELECT ON performance_schema.events_statements_history_long TO {account};
GRANT SELECT ON performance_schema.table_io_waits_summary_by_index_usage TO {account};
ALTER USER {account} WITH MAX_USER_CONNECTIONS 3;
