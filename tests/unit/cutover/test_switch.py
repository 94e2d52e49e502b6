"""Switch actions: what they write and run, that they say what was done before a failure,
and that the password never appears in what is logged or recorded."""
from __future__ import annotations

import json
import os
import stat
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from mysql_common.errors import ConfigurationError
from sqlite_to_mysql.cutover import switch_actions
from sqlite_to_mysql.cutover.errors import SwitchFailed
from sqlite_to_mysql.cutover.switch_actions import SwitchConfig

PASSWORD = "p@ss:w/rd#1"
MYSQL = switch_actions.mysql_database(host="db.example", port=3307, user="shop", password=PASSWORD, database="shop db",
                              ssl={"ca": "/etc/ca.pem"})


def test_env_file_is_replaced_atomically_private_and_names_the_database(tmp_path):
    path = tmp_path / "app.env"
    path.write_text("DATABASE_URL=sqlite:////old\n")
    config = SwitchConfig(settings_file=str(path), env_var="SHOP_DATABASE_URL")
    done = switch_actions.apply(config, MYSQL, run_id="r1", event="switch")
    line = [x for x in path.read_text().splitlines() if not x.startswith("#")]
    assert line == ["SHOP_DATABASE_URL=mysql://shop:p%40ss%3Aw%2Frd%231@db.example:3307/shop%20db?"
                    "charset=utf8mb4&ssl_ca=%2Fetc%2Fca.pem"]
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["app.env"]  # no temporary file left
    assert PASSWORD not in json.dumps(done) and "p%40ss" not in json.dumps(done)


def test_django_settings_module_defines_the_databases_the_app_needs(tmp_path):
    path = tmp_path / "database_settings.py"
    switch_actions.apply(SwitchConfig(settings_file=str(path), settings_format="django"), MYSQL, run_id="r1",
                 event="switch")
    scope: dict = {}
    exec(path.read_text(), scope)
    default = scope["DATABASES"]["default"]
    assert default["ENGINE"] == "django.db.backends.mysql" and default["NAME"] == "shop db"
    assert default["PASSWORD"] == PASSWORD and default["PORT"] == "3307"
    assert default["OPTIONS"]["charset"] == "utf8mb4" and "STRICT_ALL_TABLES" in default["OPTIONS"]["init_command"]
    assert default["OPTIONS"]["ssl"] == {"ca": "/etc/ca.pem"}
    back = tmp_path / "back.json"
    switch_actions.apply(SwitchConfig(settings_file=str(back), settings_format="json"),
                 switch_actions.sqlite_database("/srv/app/db.sqlite3"), run_id="r2", event="rollback")
    data = json.loads(back.read_text())
    assert data["DATABASE_URL"] == "sqlite:////srv/app/db.sqlite3"
    assert data["DATABASES"]["default"] == {"ENGINE": "django.db.backends.sqlite3", "NAME": "/srv/app/db.sqlite3"}


def test_command_gets_the_target_and_a_failure_lists_what_was_already_done(tmp_path):
    seen = tmp_path / "seen.json"
    script = ("import json, os, sys; json.dump({k: os.environ[k] for k in ('S2M_TARGET', 'S2M_DATABASE_URL', "
              f"'S2M_RUN_ID')}}, open({str(seen)!r}, 'w')); print('reloaded', os.environ['S2M_DATABASE_URL']); "
              "sys.exit(int(os.environ['S2M_TARGET'] == 'sqlite'))")
    config = SwitchConfig(settings_file=str(tmp_path / "app.env"), command=[sys.executable, "-c", script])
    done = switch_actions.apply(config, MYSQL, run_id="r1", event="switch")
    assert json.loads(seen.read_text())["S2M_TARGET"] == "mysql"
    assert [d["action"] for d in done] == ["settings_file", "command"]
    assert PASSWORD not in json.dumps(done)  # the command printed the URL: redacted
    with pytest.raises(SwitchFailed) as failed:
        switch_actions.apply(config, switch_actions.sqlite_database(str(tmp_path / "x.sqlite3")), run_id="r2", event="rollback")
    assert "exited with 1" in str(failed.value) and "'action': 'settings_file'" in str(failed.value)


def test_webhook_is_told_the_target_but_never_the_credentials():
    received = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/hook"
        done = switch_actions.apply(SwitchConfig(webhook=url), MYSQL, run_id="r1", event="switch")
        assert received == [{"event": "switch", "target": "mysql", "database": "shop db", "run_id": "r1"}]
        assert done[0]["status"] == 204
    finally:
        server.shutdown()


@pytest.mark.parametrize("bad, message", [
    ({"settings_file": "relative.env"}, "absolute path"),
    ({"command": "systemctl reload shop"}, "list of strings"),
    ({"settings_format": "yaml"}, "settings_format"),
    ({"webhook": "ftp://x"}, "http"),
    ({"comand": ["x"]}, "unknown switch settings"),
])
def test_switch_settings_are_validated(bad, message):
    with pytest.raises(ConfigurationError, match=message):
        SwitchConfig.from_dict(bad)


def test_a_config_without_actions_would_point_nothing_anywhere():
    assert not SwitchConfig.from_dict(None).acts
    assert SwitchConfig.from_dict({"webhook": "https://h/x"}).acts


class _Hook(BaseHTTPRequestHandler):
    """A webhook answering HEAD with `head` (None: method not allowed) and POST with `post`."""

    head: int | None = 200
    post: int = 204
    seen: list

    def do_HEAD(self):
        self.seen.append(("HEAD", None))
        self.send_response(self.head or 405)
        self.end_headers()

    def do_POST(self):
        self.seen.append(("POST", json.loads(self.rfile.read(int(self.headers["Content-Length"])))))
        self.send_response(self.post)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def hook():
    """hook(head, post) -> (url, requests it received)."""
    servers = []

    def serve(head: int | None, post: int):
        handler = type("Hook", (_Hook,), {"head": head, "post": post, "seen": []})
        server = HTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_port}/hook", handler.seen

    yield serve
    for server in servers:
        server.shutdown()


def problems(config: SwitchConfig) -> dict:
    return {c["action"]: c["problem"] for c in switch_actions.check(config, run_id="r1") if not c["ok"]}


def _plain_file(tmp):
    path = tmp / "reload.sh"
    path.write_text("echo hi\n")
    path.chmod(0o644)
    return path


def test_every_configured_action_is_checked_without_being_performed(tmp_path, hook):
    settings = tmp_path / "conf" / "app.env"
    settings.parent.mkdir()
    reload = tmp_path / "reload"
    reload.write_text("#!/bin/sh\ntouch " + str(tmp_path / "reloaded") + "\n")
    reload.chmod(0o755)
    url, seen = hook(200, 204)
    config = SwitchConfig(settings_file=str(settings), command=[str(reload), "now"], webhook=url,
                          maintenance_on=["true"], maintenance_off=["sh", "-c", "exit 0"])
    checks = switch_actions.check(config, run_id="r1")
    assert [(c["action"], c["ok"]) for c in checks] == [("settings_file", True), ("command", True), ("webhook", True),
                                                        ("maintenance_on", True), ("maintenance_off", True)]
    assert list(settings.parent.iterdir()) == []  # the trial file was created and removed
    assert not (tmp_path / "reloaded").exists()  # nothing was run
    assert seen == [("HEAD", None)]  # nothing was posted


@pytest.mark.parametrize("make, action, problem", [
    (lambda tmp: {"settings_file": str(tmp / "missing" / "app.env")}, "settings_file", "does not exist"),
    (lambda tmp: {"settings_file": "/proc/s2m-app.env"}, "settings_file", "cannot create a file in /proc"),
    (lambda tmp: {"settings_file": str(tmp)}, "settings_file", "is a directory"),
    (lambda tmp: {"command": ["no-such-reload-command-s2m", "x"]}, "command", "not found on PATH"),
    (lambda tmp: {"command": [str(tmp / "absent"), "x"]}, "command", "does not exist"),
    (lambda tmp: {"command": [str(_plain_file(tmp)), "x"]}, "command", "not executable"),
    (lambda tmp: {"settings_file": str(tmp / "a.env"), "maintenance_off": ["no-such-s2m-off"]}, "maintenance_off",
     "not found on PATH"),
])
def test_an_action_that_could_not_run_is_named_with_its_problem(tmp_path, make, action, problem):
    found = problems(SwitchConfig.from_dict(make(tmp_path)))
    assert list(found) == [action] and problem in found[action], found


def test_a_webhook_must_answer_a_head_or_a_dry_run(hook):
    url, _seen = hook(200, 500)
    assert problems(SwitchConfig(webhook=url)) == {}
    url, seen = hook(None, 204)  # HEAD not allowed: a POST marked as a dry run must be answered
    assert problems(SwitchConfig(webhook=url)) == {}
    assert seen == [("HEAD", None), ("POST", {"event": "dry_run", "dry_run": True, "run_id": "r1"})]
    url, _seen = hook(None, 500)
    assert "answered 500" in problems(SwitchConfig(webhook=url))["webhook"]
    assert "could not be reached" in problems(SwitchConfig(webhook="http://127.0.0.1:9/hook"))["webhook"]
