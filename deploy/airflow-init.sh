#!/usr/bin/env bash
# One-shot init of the compose stack (service airflow-init), idempotent: the metadata database,
# the pool that bounds concurrent MySQL sessions, the UI's admin password, the S3 buckets,
# and the ownership of the shared volumes (AIRFLOW_WRITABLE_DIRS).
set -euo pipefail
airflow db migrate
airflow pools set mysql_connections "${MYSQL_POOL_SLOTS:-8}" \
  "Bounds concurrent MySQL sessions of migration, backup and restore tasks"
python - <<'PY'
import json
import os
from urllib.parse import urlparse

# SimpleAuthManager reads the admin's password from this file.
with open(os.environ["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"], "w") as handle:
    json.dump({"admin": os.environ["AIRFLOW_ADMIN_PASSWORD"]}, handle)

# The backups' bucket, and the analysts' bucket of the masked copy's Parquet snapshots.
for variable in ("AIRFLOW_VAR_MYSQL_BACKUP_LOCATION", "AIRFLOW_VAR_MYSQL_MASKED_COPY_PARQUET_LOCATION"):
    location = urlparse(os.environ.get(variable, ""))
    if location.scheme == "s3":
        from airflow.providers.amazon.aws.hooks.s3 import S3Hook

        hook = S3Hook(aws_conn_id="aws_default")
        if not hook.check_for_bucket(location.netloc):
            hook.create_bucket(location.netloc)
        print(f"bucket {location.netloc} ready")
PY
# Run as root in the stack: the shared volumes go to the user every other Airflow service runs as.
for dir in ${AIRFLOW_WRITABLE_DIRS:-}; do
  chown -R "${AIRFLOW_UID}:0" "$dir"
done
echo "Airflow is initialized: sign in as admin with AIRFLOW_ADMIN_PASSWORD"
