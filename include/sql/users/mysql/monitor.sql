-- Monitor user (connection mysql_monitor) on MySQL 8.4: reads server state, never rows.
-- PROCESS: all sessions, INNODB_TRX, INNODB_TABLESPACES; it also shows every session's statement
--   text as it runs, literals included (docs/hardening.md). REPLICATION CLIENT: SHOW BINARY LOGS
--   and SHOW REPLICA STATUS.
-- performance_schema: only the digest summary (DIGEST_TEXT with literals replaced by ?; its
--   QUERY_SAMPLE_TEXT column keeps one sample with literals, no more than PROCESS shows), not
--   performance_schema.*, whose statement history tables keep the raw text of past statements.
-- At most 3 sessions: a stuck monitor cannot eat the connections it is watching.
GRANT PROCESS, REPLICATION CLIENT ON *.* TO {account};
GRANT SELECT ON performance_schema.events_statements_summary_by_digest TO {account};
ALTER USER {account} WITH MAX_USER_CONNECTIONS 3;
