"""mysql_masked_copy under Airflow itself (`airflow dags test`): what to configure when nothing is,
and the whole run on the demo shop from its latest full backup."""
from __future__ import annotations

import json
import subprocess
import uuid

import pytest

from mysql_backup.crypto import AgeKey
from mysql_backup.full_backup import take_full_backup
from mysql_backup.storage import LocalStorage
from masking_support import SHOP, access
from tests.support.paths import ROOT

pytestmark = [pytest.mark.integration, pytest.mark.airflow]
MASKING_KEY = "dag-test-masking-key-" + "0123456789abcdef"


def airflow(env: dict, *args: str, extra: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(ROOT / ".venv/bin/airflow"), *args], env={**env, **(extra or {})},
                          capture_output=True, text=True, timeout=900)


def test_unconfigured_masked_copy_says_what_to_configure(airflow_env):
    env = {k: v for k, v in airflow_env.items() if not k.startswith(("AIRFLOW_CONN_", "AIRFLOW_VAR_"))}
    run = airflow(env, "dags", "test", "mysql_masked_copy")
    log = run.stdout + run.stderr
    assert run.returncode != 0
    assert "the masked copy is not configured" in log
    assert "connection 'mysql_dev' is not defined" in log and "mysql_masking_secret_key" in log
    assert "restored backup" not in log  # nothing ran past the check


@pytest.mark.slow
def test_masked_copy_dag_from_the_latest_backup(airflow_env, encrypted_server, demo_shop, tmp_path):
    identity = subprocess.run(["age-keygen"], capture_output=True, text=True, check=True).stdout
    storage = LocalStorage(tmp_path / "backups")
    take_full_backup(access(encrypted_server, SHOP), storage, AgeKey.from_config(secret=identity), server="shopdb")
    dev = f"dev_{uuid.uuid4().hex[:8]}"
    url = f"mysql://root@127.0.0.1:{encrypted_server.port}"
    extra = {"AIRFLOW_CONN_MYSQL_TARGET": f"{url}/{SHOP}", "AIRFLOW_CONN_MYSQL_DEV": f"{url}/{dev}",
             "AIRFLOW_VAR_MYSQL_BACKUP_LOCATION": str(tmp_path / "backups"),
             "AIRFLOW_VAR_MYSQL_BACKUP_AGE_SECRET_KEY": identity,
             "AIRFLOW_VAR_MYSQL_BACKUP_SERVER_NAME": "shopdb",
             "AIRFLOW_VAR_MYSQL_MASKING_SECRET_KEY": MASKING_KEY,
             "AIRFLOW_VAR_MYSQL_MASKING_DEV_PASSWORD": "staff-dev-password",
             "AIRFLOW_VAR_MYSQL_MASKED_COPY_PARQUET_LOCATION": str(tmp_path / "parquet"),
             "S2M_REPORT_DIR": str(tmp_path / "reports")}
    try:
        run = airflow(airflow_env, "dags", "test", "mysql_masked_copy", "--conf", json.dumps({"workers": 2}),
                      extra=extra)
        log = run.stdout + run.stderr
        assert run.returncode == 0 and "state=success" in log, log[-4000:]
        assert MASKING_KEY not in log and "staff-dev-password" not in log
        emails = encrypted_server.sql("SELECT email FROM auth_user WHERE email <> ''", dev)
        assert emails and all(e.endswith("@example.invalid") for (e,) in emails)
        assert encrypted_server.sql("SELECT COUNT(*) FROM shop_order", dev) == \
            encrypted_server.sql("SELECT COUNT(*) FROM shop_order", SHOP)
        leftovers = encrypted_server.sql("SHOW DATABASES WHERE `Database` LIKE 'mask\\_%' "
                                         "OR `Database` LIKE '%mask_stage'")
        assert leftovers == ()  # the scratch restore and the staging copy are gone
        report = json.loads(next((tmp_path / "reports").glob("*/masked_copy.json")).read_text())
        assert report["checks"]["scan"]["leak_count"] == 0 and report["source"]["kind"] == "backup"
        assert report["parquet"]["rows"] > 0
        latest = json.loads((tmp_path / "parquet" / dev / "latest.json").read_text())
        assert (tmp_path / "parquet" / latest["manifest"]).is_file()
    finally:
        encrypted_server.sql(f"DROP DATABASE IF EXISTS `{dev}`")
