"""mysql_health_monitor run by Airflow itself (`airflow dags test`): an incident alerts once by
webhook and by email, stays quiet while it lasts, and reports its resolution once."""
from __future__ import annotations

import json
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from aiosmtpd.controller import Controller

from mysql_hardening import accounts
from tools.private_mariadb import free_port

pytestmark = [pytest.mark.integration, pytest.mark.airflow]


class Webhook(BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Webhook.received.append((self.path, json.loads(body)))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


class Mailbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        self.messages.append(envelope.content.decode(errors="replace"))
        return "250 OK"


@pytest.fixture
def receivers():
    Webhook.received = []
    http = HTTPServer(("127.0.0.1", 0), Webhook)
    threading.Thread(target=http.serve_forever, daemon=True).start()
    mailbox = Mailbox()
    smtp = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    yield http.server_address[1], smtp.port, mailbox
    smtp.stop()
    http.shutdown()


def run_monitor(env, conf) -> str:
    out = subprocess.run([f"{env['ROOT']}/.venv/bin/airflow", "dags", "test", "mysql_health_monitor",
                          "-c", json.dumps(conf)], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    return out.stdout + out.stderr


def test_incident_alerts_once_and_resolves_once(private_mariadb, airflow_env, receivers):
    http_port, smtp_port, mailbox = receivers
    server = private_mariadb(options={"max_connections": 10})
    password = "mon-Alert-S3cret"
    accounts.apply_role(server.connect(), "monitor", accounts.Account("monitor_u", "%", password), "shop")
    env = dict(airflow_env)
    env["AIRFLOW_CONN_MYSQL_MONITOR"] = json.dumps({"conn_type": "mysql", "host": "127.0.0.1",
                                                    "port": server.port, "login": "monitor_u",
                                                    "password": password})
    env["AIRFLOW_CONN_MYSQL_ALERT_WEBHOOK"] = json.dumps({"conn_type": "http", "host": "127.0.0.1",
                                                          "port": http_port, "schema": "http"})
    env["AIRFLOW_CONN_SMTP_DEFAULT"] = json.dumps({
        "conn_type": "smtp", "host": "127.0.0.1", "port": smtp_port,
        "extra": {"disable_ssl": True, "disable_tls": True, "from_email": "airflow@example.com"}})
    conf = {"alert_email_to": ["dba@example.com"], "alert_webhook_endpoint": "/alerts"}

    held = [server.connect() for _ in range(8)]
    logs = run_monitor(env, conf)
    run_monitor(env, conf)
    assert [(path, body["kind"], body["code"]) for path, body in Webhook.received] == [
        ("/alerts", "opened", "CONNECTION_POOL_EXHAUSTED")]
    assert len(mailbox.messages) == 1 and "CONNECTION_POOL_EXHAUSTED" in mailbox.messages[0]
    assert password not in logs

    for conn in held:
        conn.close()
    run_monitor(env, conf)
    kinds = [(body["kind"], body["code"]) for _, body in Webhook.received]
    assert kinds == [("opened", "CONNECTION_POOL_EXHAUSTED"), ("resolved", "CONNECTION_POOL_EXHAUSTED")]
    assert len(mailbox.messages) == 2 and "RESOLVED" in mailbox.messages[1]


def test_monitored_server_down_is_one_incident_resolved_once(private_mariadb, airflow_env, receivers):
    """Server killed: the monitor fails (red), MONITOR_FAILED is sent once however many runs fail,
    and once the server is back the next run sends one resolution."""
    http_port, _, _ = receivers
    server = private_mariadb()
    password = "mon-Down-S3cret"
    accounts.apply_role(server.connect(), "monitor", accounts.Account("monitor_d", "%", password), "shop")
    env = dict(airflow_env, TASK_RETRY_DELAY_SECONDS="1")
    env["AIRFLOW_CONN_MYSQL_MONITOR_DOWN"] = json.dumps({"conn_type": "mysql", "host": "127.0.0.1",
                                                         "port": server.port, "login": "monitor_d",
                                                         "password": password})
    env["AIRFLOW_CONN_MYSQL_ALERT_WEBHOOK"] = json.dumps({"conn_type": "http", "host": "127.0.0.1",
                                                          "port": http_port, "schema": "http"})
    conf = {"monitor_conn_id": "mysql_monitor_down", "alert_webhook_endpoint": "/alerts"}

    def sent():
        return [(body["kind"], body["code"]) for _, body in Webhook.received]

    server.kill()
    for _ in range(2):
        out = subprocess.run([f"{env['ROOT']}/.venv/bin/airflow", "dags", "test", "mysql_health_monitor",
                              "-c", json.dumps(conf)], env=env, capture_output=True, text=True, timeout=300)
        assert out.returncode != 0  # a monitor that cannot see the server is a failed run
        assert password not in out.stdout + out.stderr
    assert sent() == [("opened", "MONITOR_FAILED")]
    server.start()
    run_monitor(env, conf)
    assert sent() == [("opened", "MONITOR_FAILED"), ("resolved", "MONITOR_FAILED")]
