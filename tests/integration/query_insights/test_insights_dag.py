"""mysql_query_insights run by Airflow itself (`airflow dags test`): it refuses a server without
performance_schema with what to enable, keeps its history as Parquet in S3 (moto on loopback),
and sends QUERY_REGRESSION once for a digest that lost its index."""
from __future__ import annotations

import json
import subprocess
import uuid

import boto3
import pytest

from mysql_backup.s3_storage import S3Storage
from query_insights import digest_history, insights_run
from tests.support.moto_server import moto_s3
from tests.support.webhook import webhook_receiver
from test_regression_and_advice import listing_digest, run_listing

pytestmark = [pytest.mark.integration, pytest.mark.airflow]


def run_dag(env: dict, conf: dict) -> subprocess.CompletedProcess:
    return subprocess.run([f"{env['ROOT']}/.venv/bin/airflow", "dags", "test", "mysql_query_insights",
                           "-c", json.dumps(conf)], env=env, capture_output=True, text=True, timeout=600)


def mysql_conn(port: int, schema: str = "") -> str:
    return json.dumps({"conn_type": "mysql", "host": "127.0.0.1", "port": port, "login": "root", "schema": schema})


def test_off_server_is_refused_with_what_to_enable(private_mariadb, airflow_env, tmp_path):
    server = private_mariadb()  # MariaDB's default: performance_schema OFF
    env = {**airflow_env, "AIRFLOW_CONN_MYSQL_MONITOR": mysql_conn(server.port),
           "AIRFLOW_CONN_MYSQL_TARGET": mysql_conn(server.port, "shop"),
           "AIRFLOW_VAR_MYSQL_BACKUP_LOCATION": str(tmp_path / "backups")}
    run = run_dag(env, {})
    output = run.stdout + run.stderr
    assert run.returncode != 0
    assert "PERFORMANCE_SCHEMA_OFF" in output and "performance_schema=ON" in output
    assert "performance-schema-consumer-events-statements-history-long=ON" in output


def test_regression_is_sent_once_and_history_is_parquet_in_s3(shop, airflow_env):
    with moto_s3() as endpoint, webhook_receiver() as (port, received):
        client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="testing",
                              aws_secret_access_key="testing")
        bucket = f"insights-{uuid.uuid4().hex[:8]}"
        client.create_bucket(Bucket=bucket)
        storage = S3Storage(client, bucket, "prod")
        layout = digest_history.InsightsLayout("srv")
        app, monitor = shop.connect(), shop.connect(None)
        insights_run.snapshot(monitor, storage, layout, "test server")
        run_listing(app, 60)
        insights_run.snapshot(monitor, storage, layout, "test server")
        insights_run.baseline(storage, layout, shop.now(), hours=1, on_demand=True, schemas=["shop"], min_samples=20)
        app.cursor().execute("ALTER TABLE shop_order DROP INDEX shop_order_status_created")
        run_listing(app, 60)

        env = {**airflow_env, "AIRFLOW_CONN_MYSQL_MONITOR": mysql_conn(shop.server.port),
               "AIRFLOW_CONN_MYSQL_TARGET": mysql_conn(shop.server.port, "shop"),
               "AIRFLOW_VAR_MYSQL_BACKUP_LOCATION": f"s3://{bucket}/prod",
               "AIRFLOW_VAR_MYSQL_BACKUP_SERVER_NAME": "srv",
               "AIRFLOW_CONN_AWS_DEFAULT": json.dumps({"conn_type": "aws", "login": "testing", "password": "testing",
                                                       "extra": {"endpoint_url": endpoint, "region_name": "us-east-1"}}),
               "AIRFLOW_CONN_MYSQL_ALERT_WEBHOOK": json.dumps({"conn_type": "http", "host": "127.0.0.1",
                                                               "port": port, "schema": "http"})}
        conf = {"alert_webhook_endpoint": "/alerts"}
        first = run_dag(env, conf)
        assert first.returncode == 0, (first.stdout + first.stderr)[-4000:]
        digest = listing_digest(monitor)
        assert [(path, body["kind"], body["code"], body["details"]["digest"]) for path, body in received] == [
            ("/alerts", "opened", "QUERY_REGRESSION", digest)]

        run_listing(app, 60)  # still without its index: the same incident, no second alert
        second = run_dag(env, conf)
        assert second.returncode == 0, (second.stdout + second.stderr)[-4000:]
        assert len(received) == 1

        deltas = [info.key for info in storage.list("srv/query-insights/deltas/")]
        assert len(deltas) == 3 and all(key.endswith(".parquet") for key in deltas)
        frame, _ = digest_history.from_parquet(storage.read_bytes(deltas[-1]))
        assert digest in set(frame["digest"])

