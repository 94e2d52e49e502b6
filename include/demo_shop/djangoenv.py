"""Run demo-shop ORM code against a given database, one subprocess per call.

Django configures itself once per process (settings, app registry, connections), so two
databases cannot be checked one after the other in the same interpreter. Every public entry
point (orm_checks.answers, orm_checks.insert_smoke, ...) therefore starts `python <module>`
with SHOP_DATABASE_URL in the environment and reads JSON from its stdout. The URL travels in
the environment, not on the command line, so a password never shows up in `ps`.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
URL_VAR = "SHOP_DATABASE_URL"


def setup(database_url: str | None = None) -> None:
    """Configure Django in this process (only ever call once, from a subprocess entry point)."""
    if database_url:
        os.environ[URL_VAR] = database_url
    if not os.environ.get(URL_VAR):
        raise SystemExit(f"give --database-url or set {URL_VAR}")
    os.environ["DJANGO_SETTINGS_MODULE"] = "shopsite.settings"
    if str(HERE) not in sys.path:
        sys.path.insert(0, str(HERE))
    import django

    django.setup()


def run(module: str, command: str, database_url: str, *args: str, env: dict | None = None,
        timeout: float = 900) -> dict:
    """Run `python <HERE>/<module>.py <command> <args>` against database_url; return its JSON."""
    env = {**os.environ, **(env or {}), URL_VAR: database_url, "DJANGO_SETTINGS_MODULE": "shopsite.settings"}
    proc = subprocess.run([sys.executable, str(HERE / f"{module}.py"), command, *args],
                          cwd=HERE, env=env, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"{module} {command} failed (exit {proc.returncode}):\n{proc.stderr[-6000:]}")
    return json.loads(proc.stdout)


def emit(result) -> None:
    """Print a result as the one JSON document on stdout."""
    sys.stdout.write(json.dumps(result, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
