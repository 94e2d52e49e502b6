"""`make demo`: generate the demo shop, migrate it into MySQL through the real DAG, print where
the result and the report are.

The MySQL server is, in this order: the one at MYSQL_URL (mysql://user:password@host:port/db),
the local server on 127.0.0.1:3306 if it answers as root without a password, or a private
mariadbd started from the installed binaries under .airflow/demo-mariadb (left running so the
result can be inspected; the last lines say how to stop it).

    make demo                          # scale 0.1 (about 100k rows)
    make demo DEMO_ARGS="--scale 1"    # about 1M rows
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import unquote, urlsplit

ROOT = Path(__file__).resolve().parents[1]
for extra in (ROOT / "include" / "demo_shop", ROOT):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))

from tools.private_mariadb import PrivateMariaDB  # noqa: E402

AIRFLOW_HOME = Path(os.environ.get("AIRFLOW_HOME", ROOT / ".airflow"))
DEMO_DIR = AIRFLOW_HOME / "demo"
SERVER_DIR = AIRFLOW_HOME / "demo-mariadb"
DAG_ID = "sqlite_to_mysql_migration"


def answers(host: str, port: int, user: str, password: str) -> bool:
    import MySQLdb

    try:
        MySQLdb.connect(host=host, port=port, user=user, passwd=password, connect_timeout=3).close()
        return True
    except MySQLdb.Error:
        return False


def mysql_server(database: str) -> tuple[dict, str]:
    """Connection fields of the server to use, and a sentence saying which one it is."""
    url = os.environ.get("MYSQL_URL")
    if url:
        parts = urlsplit(url)
        fields = {"host": parts.hostname or "127.0.0.1", "port": parts.port or 3306,
                  "login": unquote(parts.username or "root"), "password": unquote(parts.password or ""),
                  "schema": parts.path.lstrip("/") or database}
        return fields, f"MYSQL_URL ({fields['login']}@{fields['host']}:{fields['port']})"
    if answers("127.0.0.1", 3306, "root", ""):
        return ({"host": "127.0.0.1", "port": 3306, "login": "root", "password": "", "schema": database},
                "the local server on 127.0.0.1:3306")
    port_file = SERVER_DIR / "port"
    if port_file.exists() and answers("127.0.0.1", int(port_file.read_text()), "root", ""):
        port = int(port_file.read_text())
    else:
        server = PrivateMariaDB(basedir=str(SERVER_DIR), keep=True).start()
        port = server.port
        port_file.write_text(str(port))
    return ({"host": "127.0.0.1", "port": port, "login": "root", "password": "", "schema": database},
            f"a private mariadbd on 127.0.0.1:{port} (stop it: kill $(cat {SERVER_DIR / 'mysqld.pid'}))")


def newest_report(since: float) -> Path | None:
    reports = AIRFLOW_HOME / "reports"
    found = [p for p in reports.glob("*/verification.json") if p.stat().st_mtime >= since] if reports.exists() else []
    return max(found, key=lambda p: p.stat().st_mtime).parent if found else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=0.1, help="1 = about a million rows (default 0.1)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--database", default="demo_shop", help="target database (replaced if it exists)")
    args = parser.parse_args(argv)

    from generate import generate

    DEMO_DIR.mkdir(parents=True, exist_ok=True)
    source = DEMO_DIR / "shop.sqlite3"
    started = time.monotonic()
    counts = generate(source, scale=args.scale, seed=args.seed)
    print(f"demo: generated {source} ({sum(counts.values()):,} rows in {len(counts)} tables, "
          f"{time.monotonic() - started:.1f}s)")

    target, which = mysql_server(args.database)
    print(f"demo: target is {which}, database `{target['schema']}`")
    env = dict(os.environ,
               AIRFLOW_CONN_SQLITE_SOURCE=json.dumps({"conn_type": "sqlite", "host": str(source)}),
               AIRFLOW_CONN_MYSQL_TARGET=json.dumps({"conn_type": "mysql", **target}))
    # The demo owns this database: replace what an earlier demo left there.
    conf = {"if_target_exists": "replace"}
    wall = time.time()
    run = subprocess.run([str(ROOT / "bin" / "airflow"), "dags", "test", DAG_ID, "--conf", json.dumps(conf)],
                         env=env, capture_output=True, text=True)
    log_file = DEMO_DIR / "dags-test.log"
    log_file.write_text(run.stdout + run.stderr)
    report = newest_report(wall)
    print(f"demo: DAG {DAG_ID} {'succeeded' if run.returncode == 0 else 'FAILED'} "
          f"in {time.time() - wall:.1f}s; full log: {log_file}")
    if run.returncode != 0:
        print("\n".join((run.stdout + run.stderr).splitlines()[-40:]))
        return run.returncode
    if report:
        print((report / "verification.md").read_text() if (report / "verification.md").exists() else "")
        print(f"demo: report: {report}/ (verification.json, verification.md, preflight.*)")
    user = target["login"] + (":<password>" if target["password"] else "")
    print(f"demo: result: mysql://{user}@{target['host']}:{target['port']}/{target['schema']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
