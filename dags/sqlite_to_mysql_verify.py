"""sqlite_to_mysql_verify: the migration's verification alone, against both sides as they are
now (counts, segment checksums narrowed to the differing keys, foreign keys, counters, schema),
with the plan the last migration run stored in the target. Run it any time, e.g. right before
a cutover; it writes nothing to either database."""
from __future__ import annotations

from airflow.sdk import DAG

from dag_building.dag_params import optional
from operators.migration_operators import VerifyDatabaseOperator
from dag_building.task_policy import DEFAULT_ARGS, MYSQL_POOL

DOC = """
### Verify a migrated database now

Uses the same connections as `sqlite_to_mysql_migration` (`sqlite_source`, `mysql_target`) and
the plan its last run stored in the target database. The `verify` task's log has the table of
source/target/quarantined rows and checksums; files in `$AIRFLOW_HOME/reports/<run_id>/`. Any
difference fails the run with `MIGRATION_DATA_LOSS` and shows the differing rows side by side.
While change capture runs (before a cutover), differences on keys the application changed since
the copy are reported as pending, not as losses.
"""

with DAG(
    dag_id="sqlite_to_mysql_verify",
    schedule=None,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["migration", "verification", "sqlite", "mysql"],
    doc_md=DOC,
    params={"diff_examples": optional(20, "Differing rows listed per table in the report.", type="integer",
                                      minimum=1, maximum=1000, title="Differences shown per table")},
) as dag:
    VerifyDatabaseOperator(task_id="verify", pool=MYSQL_POOL)
