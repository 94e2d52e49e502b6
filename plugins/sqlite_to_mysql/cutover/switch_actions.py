"""Pointing the application at a database: the switch's actions, configured once by whoever
deploys the application (never from a trigger form: they write files and run commands), and
recorded each time they run.

Actions, each optional, in this order:
1. `settings_file`: written atomically (0600, fsync, rename) in the form the app reads:
   `env` (`DATABASE_URL=...`), `django` (a `DATABASES = {...}` module) or `json`;
2. `command`: an argv (no shell) run with S2M_TARGET, S2M_DATABASE_URL, S2M_SETTINGS_FILE and
   S2M_RUN_ID in its environment, e.g. to reload the application;
3. `webhook`: a JSON POST naming the target (never credentials).
`maintenance_on` / `maintenance_off` are commands run around a freeze (the app's maintenance
mode), so users see a maintenance page rather than write errors.

`check` tries every configured action without performing it (the rehearsal reports it, and a
switch or rollback whose actions could not run is refused before anything is frozen).
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import os
import pprint
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from urllib.parse import quote as urlquote, urlencode

from mysql_common.errors import ConfigurationError, redact
from mysql_common.session import STRICT_SQL_MODE
from sqlite_to_mysql.cutover.errors import SwitchFailed

log = logging.getLogger(__name__)
FORMATS = ("env", "django", "json")
# what check() proves of each action, in the words of the reports
CAN = {"settings_file": "can be written", "command": "can be run", "webhook": "answers",
       "maintenance_on": "can be run", "maintenance_off": "can be run"}


@dataclass(frozen=True)
class AppDatabase:
    """Where the application should point: URL and Django settings (both hold the password)."""

    kind: str  # mysql or sqlite
    url: str
    settings: dict
    password: str | None = None

    @property
    def shown(self) -> str:
        return redact(self.url, self.password, urlquote(self.password or "", safe=""))


def mysql_database(*, host: str, port: int, user: str, password: str | None, database: str,
                   ssl: dict | None = None) -> AppDatabase:
    ssl = {k: v for k, v in (ssl or {}).items() if k in ("ca", "cert", "key") and v}
    auth = urlquote(user or "", safe="") + (":" + urlquote(password, safe="") if password else "")
    query = urlencode({"charset": "utf8mb4", **{f"ssl_{k}": v for k, v in ssl.items()}})
    url = f"mysql://{auth}@{host}:{int(port)}/{urlquote(database, safe='')}?{query}"
    options: dict = {"charset": "utf8mb4", "init_command": f"SET sql_mode='{STRICT_SQL_MODE}'"}
    if ssl:
        options["ssl"] = ssl
    settings = {"ENGINE": "django.db.backends.mysql", "NAME": database, "USER": user or "",
                "PASSWORD": password or "", "HOST": host, "PORT": str(int(port)), "OPTIONS": options}
    return AppDatabase("mysql", url, settings, password)


def sqlite_database(path: str) -> AppDatabase:
    path = os.path.abspath(path)
    return AppDatabase("sqlite", "sqlite:///" + urlquote(path), {"ENGINE": "django.db.backends.sqlite3",
                                                                  "NAME": path})


@dataclass
class SwitchConfig:
    settings_file: str | None = None
    settings_format: str = "env"
    env_var: str = "DATABASE_URL"
    command: list[str] | None = None
    webhook: str | None = None
    maintenance_on: list[str] | None = None
    maintenance_off: list[str] | None = None
    timeout_seconds: float = 30.0
    app_conn_id: str = "mysql_target"  # the credentials the application uses on MySQL

    @classmethod
    def from_dict(cls, data: dict | None) -> "SwitchConfig":
        data = dict(data or {})
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigurationError(f"unknown switch settings {unknown}; known: {sorted(known)}")
        config = cls(**data)
        if config.settings_format not in FORMATS:
            raise ConfigurationError(f"settings_format must be one of {FORMATS}, not {config.settings_format!r}")
        for name in ("command", "maintenance_on", "maintenance_off"):
            value = getattr(config, name)
            if value is not None and (not isinstance(value, list) or not value
                                      or not all(isinstance(a, str) for a in value)):
                raise ConfigurationError(f"{name} must be a non-empty list of strings (an argv, no shell)")
        if config.settings_file and not os.path.isabs(config.settings_file):
            raise ConfigurationError(f"settings_file must be an absolute path, not {config.settings_file!r}")
        if config.webhook and not config.webhook.startswith(("https://", "http://")):
            raise ConfigurationError("webhook must be an http(s) URL")
        return config

    @property
    def acts(self) -> bool:
        """Whether a switch would point the application anywhere at all."""
        return bool(self.settings_file or self.command or self.webhook)

    def describe(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v}


def apply(config: SwitchConfig, target: AppDatabase, *, run_id: str, event: str) -> list[dict]:
    """Run every configured action for `target`; on the first failure raise SwitchFailed
    listing what was already done (the caller restores a consistent state)."""
    done: list[dict] = []
    steps = []
    if config.settings_file:
        steps.append(lambda: write_settings(config, target, run_id=run_id))
    if config.command:
        steps.append(lambda: run_command(config.command, env=_command_env(config, target, run_id),
                                         timeout=config.timeout_seconds, secrets=[target.password], what="command"))
    if config.webhook:
        steps.append(lambda: call_webhook(config.webhook, {"event": event, "target": target.kind,
                                                           "database": target.settings["NAME"], "run_id": run_id},
                                          timeout=config.timeout_seconds))
    for step in steps:
        try:
            done.append(step())
        except Exception as exc:
            raise SwitchFailed(f"{event} to {target.kind}: {redact(str(exc), target.password)}; "
                               f"already done: {done or 'nothing'}") from None
        log.info("%s: %s", event, done[-1])
    return done


def check(config: SwitchConfig, *, run_id: str) -> list[dict]:
    """Each configured action, tried without being performed: {action, target, ok, problem}.

    - settings_file: its directory exists, and a file can be created (then removed) there;
    - command, maintenance_on/off: the program exists and is executable;
    - webhook: answers a HEAD request, or (HEAD not allowed) a POST with event `dry_run`.
    """
    steps = [("settings_file", config.settings_file, _check_settings_file),
             ("command", config.command, _check_program),
             ("webhook", config.webhook, lambda url: _check_webhook(url, run_id, config.timeout_seconds)),
             ("maintenance_on", config.maintenance_on, _check_program),
             ("maintenance_off", config.maintenance_off, _check_program)]
    checks = []
    for action, target, try_it in steps:
        if not target:
            continue
        problem = try_it(target)
        shown = target.split("?")[0] if action == "webhook" else " ".join(target) if isinstance(target, list) \
            else target
        checks.append({"action": action, "target": shown, "ok": problem is None, "problem": problem})
    return checks


def problems(checks: list[dict]) -> str:
    """The failed checks in one sentence."""
    return "; ".join(f"{c['action']} {c['target']}: {c['problem']}" for c in checks if not c["ok"])


def _check_settings_file(path: str) -> str | None:
    directory = os.path.dirname(path)
    if os.path.isdir(path):
        return f"{path} is a directory"
    if not os.path.isdir(directory):
        return f"its directory {directory} does not exist"
    try:
        fd, trial = tempfile.mkstemp(prefix=".s2m-check-", dir=directory)
    except OSError as exc:
        return f"cannot create a file in {directory} ({exc.strerror})"
    os.close(fd)
    os.unlink(trial)
    return None


def _check_program(argv: list[str]) -> str | None:
    program = argv[0]
    if os.sep not in program:
        return None if shutil.which(program) else f"{program} not found on PATH ({os.environ.get('PATH', '')})"
    if not os.path.exists(program):
        return f"{program} does not exist"
    if not os.path.isfile(program) or not os.access(program, os.X_OK):
        return f"{program} is not executable"
    return None


def _check_webhook(url: str, run_id: str, timeout: float) -> str | None:
    shown = url.split("?")[0]
    try:
        try:
            with urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=timeout):
                return None
        except urllib.error.HTTPError as exc:
            if exc.code not in (405, 501):
                return f"answered {exc.code} to a HEAD request"
        payload = json.dumps({"event": "dry_run", "dry_run": True, "run_id": run_id}).encode()
        request = urllib.request.Request(url, data=payload, method="POST", headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=timeout):
            return None
    except urllib.error.HTTPError as exc:
        return f"answered {exc.code} to a dry-run POST (HEAD is not allowed there)"
    except (urllib.error.URLError, OSError) as exc:
        return f"{shown} could not be reached ({getattr(exc, 'reason', exc)})"


def maintenance(config: SwitchConfig, on: bool, *, run_id: str) -> dict | None:
    argv = config.maintenance_on if on else config.maintenance_off
    if not argv:
        return None
    env = dict(os.environ, S2M_RUN_ID=run_id, S2M_MAINTENANCE="on" if on else "off")
    return run_command(argv, env=env, timeout=config.timeout_seconds, secrets=[],
                       what="maintenance_on" if on else "maintenance_off")


def _command_env(config: SwitchConfig, target: AppDatabase, run_id: str) -> dict:
    return dict(os.environ, S2M_TARGET=target.kind, S2M_DATABASE_URL=target.url, S2M_RUN_ID=run_id,
                S2M_SETTINGS_FILE=config.settings_file or "")


def render(config: SwitchConfig, target: AppDatabase, run_id: str) -> str:
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    header = f"written by the sqlite_to_mysql cutover (run {run_id}, {stamp}): the application's database"
    if config.settings_format == "env":
        return f"# {header}\n{config.env_var}={target.url}\n"
    if config.settings_format == "django":
        return f"# {header}\nDATABASES = {pprint.pformat({'default': target.settings}, sort_dicts=True)}\n"
    return json.dumps({"_comment": header, config.env_var: target.url, "DATABASES": {"default": target.settings}},
                      indent=2, sort_keys=True) + "\n"


def write_settings(config: SwitchConfig, target: AppDatabase, *, run_id: str) -> dict:
    """Atomic replace: the application never reads a half-written file."""
    started = time.monotonic()
    path = config.settings_file
    directory = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(prefix=".s2m-", dir=directory)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(render(config, target, run_id))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    dir_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return {"action": "settings_file", "path": path, "format": config.settings_format, "database": target.shown,
            "seconds": round(time.monotonic() - started, 3)}


def run_command(argv: list[str], *, env: dict, timeout: float, secrets: list, what: str) -> dict:
    started = time.monotonic()
    try:
        out = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"{what} {argv[0]} did not finish within {timeout:.0f}s") from None
    except OSError as exc:
        raise RuntimeError(f"{what} {argv[0]} could not start: {exc}") from None
    output = redact((out.stdout + out.stderr)[-2000:], *secrets)
    if out.returncode != 0:
        raise RuntimeError(f"{what} {argv[0]} exited with {out.returncode}: {output.strip()}")
    return {"action": what, "argv": argv, "exit": 0, "output": output.strip()[-500:],
            "seconds": round(time.monotonic() - started, 3)}


def call_webhook(url: str, payload: dict, *, timeout: float) -> dict:
    started = time.monotonic()
    request = urllib.request.Request(url, data=json.dumps(payload).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:  # non-2xx raises HTTPError
        status = response.status
    return {"action": "webhook", "url": url.split("?")[0], "status": status,
            "seconds": round(time.monotonic() - started, 3)}
