"""Alert delivery through Airflow's notifiers: SmtpNotifier (email) and HttpNotifier (webhook).

The notifiers are called with notify() rather than as templates: alert text contains statement
text from the database, which must never be rendered by Jinja. A channel that is configured
and fails raises, so the task retries and the incident stays pending (see incidents.py).
"""
from __future__ import annotations

import html
import json
import logging

from airflow.exceptions import AirflowNotFoundException
from airflow.providers.http.notifications.http import HttpNotifier
from airflow.providers.smtp.notifications.smtp import SmtpNotifier
from airflow.sdk import BaseHook

from mysql_common.errors import ConfigurationError

log = logging.getLogger(__name__)


def _webhook_configured(conn_id: str) -> bool:
    try:
        BaseHook.get_connection(conn_id)
        return True
    except AirflowNotFoundException:
        return False


def subject(notice: dict, server: str) -> str:
    state = "RESOLVED" if notice["kind"] == "resolved" else "ALERT"
    return f"[{state}] {notice['code']} on {server}: {notice['summary']}"[:200]


def payload(notice: dict, server: str) -> dict:
    return {"server": server, **notice}


def deliver(notice: dict, params: dict, context, *, server: str | None = None) -> None:
    """Send one notice on every configured channel; fail if there is none. server: what the
    notice is about (default: the monitored connection)."""
    server = server or params["monitor_conn_id"]
    recipients = params.get("alert_email_to") or []
    webhook = params["alert_webhook_conn_id"]
    channels = 0
    if recipients:
        body = json.dumps(payload(notice, server), indent=2, default=str)
        SmtpNotifier(to=recipients, from_email=params.get("alert_email_from") or None,
                     smtp_conn_id=params["smtp_conn_id"], subject=subject(notice, server),
                     html_content=f"<pre>{html.escape(body)}</pre>").notify(context)
        channels += 1
    if _webhook_configured(webhook):
        HttpNotifier(http_conn_id=webhook, endpoint=params.get("alert_webhook_endpoint") or "",
                     json=payload(notice, server),
                     headers={"Content-Type": "application/json"}).notify(context)
        channels += 1
    if not channels:
        raise ConfigurationError(
            f"alert {notice['code']} ({notice['summary']}) cannot be sent: no channel configured. "
            f"Set Param alert_email_to (and connection {params['smtp_conn_id']}) or define the http "
            f"connection {webhook}. The alert stays pending and is sent once a channel exists.")
    log.info("sent %s %s: %s", notice["kind"], notice["code"], notice["summary"])

