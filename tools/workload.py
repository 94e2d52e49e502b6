"""`make workload`: did the move make the demo shop faster? The same Django requests, replayed by
locust against the shop on SQLite (before) and on the migrated MySQL (after), side by side.

    make workload                                   # scale 1, 60 s per run, 1/4/16 users, pool stress
    make workload SCALE=0.01 WORKLOAD_ARGS="--seconds 5 --no-stress"

- the data: the demo shop generated at --scale (tools.bench's cache), migrated into a fresh MySQL
  database by the project's own migration (in-process run_all);
- the application: the shop's Django app served by gunicorn (gthread: --workers processes with
  --threads threads each), the same for both databases; one run per database and user count,
  each against a fresh copy of the SQLite file, the MySQL database shared by the runs (checkouts
  add a few hundred orders to 165k);
- the load: locust (headless, its own process: it is built on gevent), --users simulated users in a
  closed loop without think time; per request type p50/p95/p99, requests/s and errors from
  locust's own statistics (locust rounds latencies above 100 ms to 2 significant digits);
- the pool stress (unless --no-stress): a private mariadbd with --max-connections, the app with
  more threads than that, under more users, with three connection settings; per setting what the
  users saw and what mysql_health_monitor's connection check reports.
Results: .airflow/workload/results-<timestamp>.json and a Markdown summary on stdout. Nothing
here is asserted: the tests run it at a tiny scale and report the numbers.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for extra in (ROOT / "plugins", ROOT / "include" / "demo_shop", ROOT):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))

from tools.bench import connector, demo_source, execute, mysql_url, server_params  # noqa: E402
from tools.private_mariadb import PrivateMariaDB, free_port  # noqa: E402

WORKLOAD_DIR = ROOT / ".airflow" / "workload"
DEMO = ROOT / "include" / "demo_shop"
BIN = Path(sys.executable).parent
REQUEST_TYPES = ["listing", "product_page", "order_history", "checkout", "admin_search", "admin_login"]


def migrate(source: Path, params: dict, database: str) -> dict:
    """The project's migration, in-process, into a new database."""
    from sqlite_to_mysql.migration import Connections, run_all
    from sqlite_to_mysql.planner import Settings
    from sqlite_to_mysql.source import open_source

    conns = Connections(source=lambda: open_source(source), server=connector(params),
                        database=connector(params, database))
    with tempfile.TemporaryDirectory() as reports:
        result = run_all(conns, source_path=str(source), database=database, settings=Settings(),
                         run_id=f"workload_{database}", method="auto", report_base=reports)
    if result["status"] != "OK":
        raise RuntimeError(f"the migration into {database} ended {result['status']}")
    return result


def sqlite_copy(source: Path, dest: Path) -> Path:
    """A fresh copy through SQLite's backup API (a live SQLite file is only opened through SQLite)."""
    dest.unlink(missing_ok=True)
    with sqlite3.connect(source) as src, sqlite3.connect(dest) as out:
        src.backup(out)
    return dest


def workload_params(source: Path, path: Path, seed: int) -> Path:
    """Ids, slugs and words the simulated users pick from (read once, before any run)."""
    rng = random.Random(seed)
    with sqlite3.connect(f"file:{source}?mode=ro", uri=True) as conn:
        def column(sql: str, k: int) -> list:
            values = [row[0] for row in conn.execute(sql)]
            return rng.sample(values, min(k, len(values)))

        params = {
            "categories": column("SELECT DISTINCT c.slug FROM shop_category c JOIN shop_product p ON p.category_id = c.id", 100),
            "products": column("SELECT slug FROM shop_product", 1000),
            "product_ids": column("SELECT id FROM shop_product WHERE is_active = 1", 1000),
            "customers": column("SELECT DISTINCT user_id FROM shop_order", 1000),
            "words": sorted({w.lower() for (name,) in conn.execute("SELECT name FROM shop_product LIMIT 2000")
                             for w in name.split() if w.isalpha() and len(w) > 3})[:200],
        }
    path.write_text(json.dumps(params))
    return path


@contextmanager
def shop_server(database_url: str, *, workers: int, threads: int, conn_max_age: str, log: Path):
    """The demo shop under gunicorn on a loopback port; stopped (process group) when done."""
    port = free_port()
    env = {**os.environ, "SHOP_DATABASE_URL": database_url, "SHOP_CONN_MAX_AGE": conn_max_age,
           "DJANGO_SETTINGS_MODULE": "shopsite.settings"}
    with open(log, "ab") as sink:  # gunicorn's own log and Django's request errors (settings.LOGGING)
        proc = subprocess.Popen([str(BIN / "gunicorn"), "shopsite.wsgi", "--chdir", str(DEMO), "--bind",
                                 f"127.0.0.1:{port}", "--workers", str(workers), "--threads", str(threads),
                                 "--worker-class", "gthread", "--timeout", "120", "--graceful-timeout", "5",
                                 "--error-logfile", "-", "--log-level", "warning"],
                                env=env, stdout=sink, stderr=sink, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited at start:\n{log.read_text()[-3000:]}")
            try:
                urllib.request.urlopen(f"{url}/shop/products/", timeout=10).read()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the shop did not answer within 90 s:\n{log.read_text()[-3000:]}") from None
                time.sleep(0.3)
        yield url
    finally:
        _stop(proc)


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


def run_locust(url: str, users: int, seconds: float, params_file: Path, workdir: Path) -> dict:
    """One headless locust run; per request type the figures of locust's own statistics."""
    prefix = workdir / f"locust-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "WORKLOAD_PARAMS": str(params_file)}
    proc = subprocess.Popen([str(BIN / "locust"), "-f", str(ROOT / "tools" / "workload_locustfile.py"), "--headless",
                             "--users", str(users), "--spawn-rate", str(users), "--run-time", f"{seconds:g}s",
                             "--host", url, "--csv", str(prefix), "--only-summary", "--loglevel", "ERROR",
                             "--stop-timeout", "10", "--exit-code-on-error", "0"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        _, stderr = proc.communicate(timeout=seconds + 120)
    except subprocess.TimeoutExpired:
        _stop(proc)
        raise RuntimeError(f"locust did not stop within {seconds + 120:g} s") from None
    if proc.returncode != 0:
        raise RuntimeError(f"locust failed (exit {proc.returncode}):\n{stderr[-3000:]}")
    return parse_stats(prefix)


def parse_stats(prefix: Path) -> dict:
    def number(text: str) -> float | None:
        return None if text in ("", "N/A") else float(text)

    requests = {}
    with open(f"{prefix}_stats.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            name = "total" if row["Name"] == "Aggregated" else row["Name"]
            requests[name] = {"requests": int(row["Request Count"]), "errors": int(row["Failure Count"]),
                              "rps": round(float(row["Requests/s"]), 2), "p50_ms": number(row["50%"]),
                              "p95_ms": number(row["95%"]), "p99_ms": number(row["99%"]),
                              "avg_ms": round(float(row["Average Response Time"]), 2)}
    failures = []
    with open(f"{prefix}_failures.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            failures.append({"request": row["Name"], "error": row["Error"][:300], "count": int(row["Occurrences"])})
    for suffix in ("_stats.csv", "_failures.csv", "_stats_history.csv", "_exceptions.csv"):
        Path(f"{prefix}{suffix}").unlink(missing_ok=True)
    return {"requests": requests, "failures": failures}


def replay(name: str, database_url: str, users_levels: list[int], seconds: float, params_file: Path, workdir: Path,
           *, workers: int, threads: int, conn_max_age: str, fresh_sqlite: tuple[Path, Path] | None = None) -> list:
    runs = []
    for users in users_levels:
        if fresh_sqlite:
            sqlite_copy(*fresh_sqlite)
        log = workdir / f"gunicorn-{name}-{users}.log"
        with shop_server(database_url, workers=workers, threads=threads, conn_max_age=conn_max_age, log=log) as url:
            result = run_locust(url, users, seconds, params_file, workdir)
        result.update(backend=name, users=users, server_errors=_error_lines(log))
        runs.append(result)
        total = result["requests"].get("total", {})
        print(f"  {name:6} {users:3} users: {total.get('rps', 0):8.1f} req/s, p95 {total.get('p95_ms')} ms, "
              f"{total.get('errors', 0)} errors", flush=True)
    return runs


def _error_lines(log: Path) -> dict:
    """The causes behind HTTP 500s, from the app's error log: the exception lines, counted."""
    counts: dict[str, int] = {}
    if log.exists():
        for line in log.read_text(errors="replace").splitlines():
            if line.startswith(("django.db.utils.", "MySQLdb.", "sqlite3.")):
                key = line.strip()[:200]
                counts[key] = counts.get(key, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: -kv[1])[:5])


def stress(source: Path, params_file: Path, workdir: Path, *, seconds: float, max_connections: int, users: int,
           workers: int, threads: int) -> dict:
    """More application threads than the server allows connections, under more users than threads,
    with three connection settings; the health monitor's connection check while each runs."""
    from mysql_hardening import monitoring

    server = PrivateMariaDB(options={"max_connections": max_connections})
    server.start()
    try:
        params = {"host": "127.0.0.1", "port": server.port, "user": "root", "passwd": ""}
        migrate(source, params, "shop")
        url = mysql_url(params, "shop")
        safe_threads = max(1, int(max_connections * 0.8) // workers - 1)
        settings = [("persistent (CONN_MAX_AGE=600), more threads than connections", "600", threads),
                    ("one connection per request (CONN_MAX_AGE=0), more threads than connections", "0", threads),
                    ("one connection per request (CONN_MAX_AGE=0), threads within 80% of max_connections",
                     "0", safe_threads),
                    ("recommended: CONN_MAX_AGE=60 + health checks, threads within 80% of max_connections",
                     "60", safe_threads)]
        out = {"max_connections": max_connections, "users": users, "workers": workers, "settings": []}
        for label, max_age, thread_count in settings:
            log = workdir / f"gunicorn-stress-{max_age}.log"
            server.sql("FLUSH STATUS")  # Max_used_connections from now on: each setting's own peak
            with shop_server(url, workers=workers, threads=thread_count, conn_max_age=max_age, log=log) as app:
                result = run_locust(app, users, seconds, params_file, workdir)
                check = _connection_check(server, monitoring)
            result.update(setting=label, conn_max_age=max_age, threads=thread_count,
                          app_threads=workers * thread_count, monitor=check, server_errors=_error_lines(log))
            out["settings"].append(result)
            total = result["requests"]["total"]
            print(f"  stress {label}: {total['rps']:.1f} req/s, p95 {total['p95_ms']} ms, {total['errors']} errors "
                  f"of {total['requests']}; monitor: {check['status']} {check['summary']}", flush=True)
        return out
    finally:
        server.stop()


def _connection_check(server: PrivateMariaDB, monitoring) -> dict:
    """mysql_health_monitor's connection check, taken while the app still holds its sessions
    (its previous sample from before the load, so a peak at the limit counts)."""
    try:
        conn = server.connect()
    except Exception as exc:  # the server refused even this: the monitor's own finding
        return monitoring.connections_refused(exc).as_dict()
    try:
        cur = conn.cursor()
        cur.execute("SHOW GLOBAL STATUS")
        status = {k.lower(): v for k, v in cur.fetchall()}
        return monitoring.check_connections(cur, status, monitoring.Thresholds(),
                                            {"max_used_connections": 0, "uptime": 0}, {}).as_dict()
    finally:
        conn.close()


def _what_users_saw(run: dict) -> str:
    by_error: dict[str, int] = {}
    for failure in run["failures"]:
        error = failure["error"].replace("LocustBadStatusCode(code=500)", "HTTP 500")
        by_error[error] = by_error.get(error, 0) + failure["count"]
    seen = ", ".join(f"{count} x {error[:60]}" for error, count in sorted(by_error.items(), key=lambda kv: -kv[1]))
    cause = next(iter(run.get("server_errors") or {}), "")
    return (seen + (f" (the app's log: {cause})" if cause else "")) or "no errors"


def markdown(results: dict) -> str:
    lines = [f"Demo shop at scale {results['scale']:g} ({results['rows']:,} rows); gunicorn {results['workers']} "
             f"workers x {results['threads']} threads; {results['seconds']:g} s per run; latencies in ms.", "",
             "| request | users | SQLite p50 / p95 / p99 | SQLite req/s | SQLite errors | MySQL p50 / p95 / p99 "
             "| MySQL req/s | MySQL errors |", "|---|---|---|---|---|---|---|---|"]
    by = {(r["backend"], r["users"]): r["requests"] for r in results["runs"]}
    for users in results["users"]:
        for name in REQUEST_TYPES + ["total"]:
            cells = []
            for backend in ("sqlite", "mysql"):
                r = by.get((backend, users), {}).get(name)
                cells += ([f"{r['p50_ms']:g} / {r['p95_ms']:g} / {r['p99_ms']:g}" if r["p50_ms"] is not None else "-",
                           f"{r['rps']:g}", f"{r['errors']} of {r['requests']}"] if r else ["-", "-", "-"])
            lines.append(f"| {name} | {users} | " + " | ".join(cells) + " |")
    if results.get("stress"):
        s = results["stress"]
        lines += ["", f"Pool stress: max_connections={s['max_connections']}, {s['users']} users, "
                  f"{s['workers']} gunicorn workers.", "",
                  "| setting | app threads | req/s | p95 ms | errors | what users saw | monitor |", "|---|---|---|---|---|---|---|"]
        for r in s["settings"]:
            total = r["requests"]["total"]
            seen = _what_users_saw(r)
            lines.append(f"| {r['setting']} | {r['app_threads']} | {total['rps']:g} | {total['p95_ms']} | "
                         f"{total['errors']} of {total['requests']} | {seen} | {r['monitor']['status']}: "
                         f"{r['monitor']['summary']} |")
    return "\n".join(lines) + "\n"


def run(scale: float, seed: int, seconds: float, users_levels: list[int], *, workers: int, threads: int,
        with_stress: bool, stress_connections: int, stress_users: int, out_dir: Path = WORKLOAD_DIR) -> dict:
    out_dir.mkdir(parents=True, exist_ok=True)
    source, counts = demo_source(scale, seed)
    params = server_params()
    database = f"workload_{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory(prefix="workload-", dir=out_dir) as tmp:
        work = Path(tmp)
        params_file = workload_params(source, work / "params.json", seed)
        results = {"scale": scale, "seed": seed, "rows": sum(counts.values()), "seconds": seconds,
                   "users": users_levels, "workers": workers, "threads": threads, "runs": []}
        print(f"workload: SQLite ({source.name})", flush=True)
        copy = work / "shop.sqlite3"
        results["runs"] += replay("sqlite", f"sqlite:///{copy}", users_levels, seconds, params_file, work,
                                  workers=workers, threads=threads, conn_max_age="60", fresh_sqlite=(source, copy))
        print(f"workload: MySQL (database {database} on {params['host']}:{params['port']})", flush=True)
        migrate(source, params, database)
        try:
            results["runs"] += replay("mysql", mysql_url(params, database), users_levels, seconds, params_file, work,
                                      workers=workers, threads=threads, conn_max_age="60")
        finally:
            execute(params, f"DROP DATABASE IF EXISTS `{database}`")
        if with_stress:
            print("workload: connection pool stress", flush=True)
            results["stress"] = stress(source, params_file, work, seconds=seconds, max_connections=stress_connections,
                                       users=stress_users, workers=workers, threads=threads * 2)
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    path = out_dir / f"results-{stamp}.json"
    path.write_text(json.dumps(results, indent=2) + "\n")
    results["path"] = str(path)
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--seconds", type=float, default=60, help="duration of each locust run")
    parser.add_argument("--users", default="1,4,16", help="simulated user counts, comma-separated")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=8, help="threads per gunicorn worker")
    parser.add_argument("--no-stress", action="store_true", help="skip the connection pool stress")
    parser.add_argument("--stress-connections", type=int, default=20, help="max_connections of the stressed server")
    parser.add_argument("--stress-users", type=int, default=48)
    args = parser.parse_args(argv)
    results = run(args.scale, args.seed, args.seconds, [int(u) for u in args.users.split(",")], workers=args.workers,
                  threads=args.threads, with_stress=not args.no_stress, stress_connections=args.stress_connections,
                  stress_users=args.stress_users)
    print(markdown(results))
    print(f"results: {results['path']}")


if __name__ == "__main__":
    main()
