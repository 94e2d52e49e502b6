-- Monitor user (connection mysql_monitor): reads server state, never application rows.
-- PROCESS: every session in the processlist, information_schema.INNODB_TRX (long transactions)
--   and INNODB_SYS_TABLESPACES (data size on disk). PROCESS also shows the statement text of
--   every session as it runs, literals included (customer data): the monitor masks literals in
--   what it reports, but whoever holds this login can read them (docs/hardening.md).
-- BINLOG MONITOR: SHOW BINARY LOGS (binlog size). SLAVE MONITOR: SHOW REPLICA STATUS (lag).
-- performance_schema: only the digest summary, whose DIGEST_TEXT has every literal replaced by ?.
--   Not performance_schema.*: events_statements_current/history/history_long and threads keep
--   the raw text of past statements too.
-- At most 3 sessions: a stuck monitor cannot eat the connections it is watching.
GRANT PROCESS, BINLOG MONITOR, SLAVE MONITOR ON *.* TO {account};
GRANT SELECT ON performance_schema.events_statements_summary_by_digest TO {account};
ALTER USER {account} WITH MAX_USER_CONNECTIONS 3;
