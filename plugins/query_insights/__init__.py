"""Query insights: statement-digest history, regressions against a baseline, index advice.

Airflow-free, like mysql_backup and mysql_hardening. The flow of one hour:

    digest_source   reads performance_schema (cumulative digest counters, sampled statement events)
    digest_deltas   turns two cumulative readings into the work done between them (restarts and
                    TRUNCATE of the summary table included)
    digest_history  keeps the deltas as Parquet in the backup storage, next to the backups
    digest_report   pandas over that history: top digests, p95, regressions, the daily report
    plan_explain    EXPLAIN FORMAT=JSON of a sample statement, and the index it asks for
    index_advisor   unused and redundant indexes; candidate indexes timed on a scratch copy
                    restored from the latest backup, reported only with a measured gain

Nothing here changes production: a recommendation is an entry for include/sql/index_plan.yaml,
which the mysql_hardening DAG validates and applies (apply_schema_changes).
"""
