"""mysql_backup_verify under Airflow (`airflow dags test`): a location that does not exist is
refused by the configuration check, and stale backups are an incident that alerts once by
webhook and resolves once, through the health monitor's alerting."""
from __future__ import annotations

import json
import subprocess
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from mysql_backup.binlog_ship import ship_binlogs
from mysql_backup.crypto import AgeKey
from mysql_backup.full_backup import take_full_backup
from mysql_backup.manifest import iso, parse_iso
from mysql_backup.storage import LocalStorage

pytestmark = [pytest.mark.integration, pytest.mark.airflow]


class Webhook(BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Webhook.received.append(json.loads(body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def webhook_port():
    Webhook.received = []
    http = HTTPServer(("127.0.0.1", 0), Webhook)
    threading.Thread(target=http.serve_forever, daemon=True).start()
    yield http.server_address[1]
    http.shutdown()


def verify_run(env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([f"{env['ROOT']}/.venv/bin/airflow", "dags", "test", "mysql_backup_verify"], env=env,
                          capture_output=True, text=True, timeout=600)


def dag_env(airflow_env, source, location, age_identity, **extra) -> dict:
    return {**airflow_env, "AIRFLOW_CONN_MYSQL_TARGET": f"mysql://root@127.0.0.1:{source.server.port}/shop",
            "AIRFLOW_VAR_MYSQL_BACKUP_LOCATION": str(location),
            "AIRFLOW_VAR_MYSQL_BACKUP_AGE_SECRET_KEY": age_identity,
            "AIRFLOW_VAR_MYSQL_BACKUP_SERVER_NAME": "shopdb", **extra}


def test_a_location_that_does_not_exist_is_refused(airflow_env, source, age_identity, tmp_path):
    missing = tmp_path / "bakcups"  # a typo of an existing directory
    (tmp_path / "backups").mkdir()
    run = verify_run(dag_env(airflow_env, source, missing, age_identity))
    log = run.stdout + run.stderr
    assert run.returncode != 0 and f"directory {missing} does not exist" in log
    assert not missing.exists()  # and it was not created as an empty backup set


@pytest.mark.slow
def test_stale_backups_alert_once_and_resolve_once(airflow_env, source, age_identity, tmp_path, webhook_port):
    location = tmp_path / "backups"
    location.mkdir()
    storage, key = LocalStorage(location), AgeKey.from_config(secret=age_identity)
    source.sql("CREATE TABLE t (id int PRIMARY KEY)")
    old = take_full_backup(source.access, storage, key, server="shopdb")
    ship_binlogs(source.access, storage, key, server="shopdb")
    # As if that backup had finished 30 hours ago and none had run since.
    manifest_key = f"shopdb/full/{old.backup_id}/manifest.json"
    raw = json.loads(storage.read_bytes(manifest_key))
    raw["finished_at"] = iso(parse_iso(old.finished_at) - timedelta(hours=30))
    storage.put_bytes(manifest_key, json.dumps(raw).encode())
    env = dag_env(airflow_env, source, location, age_identity, AIRFLOW_CONN_MYSQL_ALERT_WEBHOOK=json.dumps(
        {"conn_type": "http", "host": "127.0.0.1", "port": webhook_port, "schema": "http"}))

    for _ in range(2):  # still stale on the second run: no second alert
        run = verify_run(env)
        assert run.returncode != 0 and "BACKUP_VERIFY_FAILED" in run.stdout + run.stderr
        assert "[BACKUP_FULL_STALE] the newest full backup" in run.stdout + run.stderr
    assert [(n["kind"], n["code"]) for n in Webhook.received] == [("opened", "BACKUP_FULL_STALE")]
    assert Webhook.received[0]["server"] == "backups of shopdb" and old.backup_id in Webhook.received[0]["summary"]

    take_full_backup(source.access, storage, key, server="shopdb")
    run = verify_run(env)
    assert run.returncode == 0, (run.stdout + run.stderr)[-3000:]
    assert [(n["kind"], n["code"]) for n in Webhook.received] == [("opened", "BACKUP_FULL_STALE"),
                                                                  ("resolved", "BACKUP_FULL_STALE")]
