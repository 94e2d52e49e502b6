"""Start and stop a private MariaDB/MySQL server from the installed binaries.

Used by the tests (a server with a binlog, TLS or a replica of its own), by
`make demo` when no server answers on 127.0.0.1:3306, and by the benchmark.
Each instance lives in its own temporary directory with its own port and
socket, and is killed with everything under it on stop().
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path


def server_binary() -> str:
    for name in ("mariadbd", "mysqld"):
        for d in ("/usr/sbin", "/usr/local/sbin", "/usr/bin", "/usr/local/bin"):
            path = Path(d) / name
            if path.exists():
                return str(path)
    found = shutil.which("mariadbd") or shutil.which("mysqld")
    if not found:
        raise RuntimeError("no mariadbd or mysqld binary installed (apt-get install mariadb-server)")
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PrivateMariaDB:
    """A throwaway server: `with PrivateMariaDB(log_bin=True) as srv: srv.port`."""

    def __init__(self, *, log_bin: bool = False, server_id: int = 1, options: dict | None = None,
                 basedir: str | None = None, keep: bool = False):
        self.log_bin = log_bin
        self.server_id = server_id
        self.options = dict(options or {})
        self.keep = keep
        self.root = Path(basedir or tempfile.mkdtemp(prefix="private-mariadb-"))
        self.datadir = self.root / "data"
        self.socket = str(self.root / "mysqld.sock")
        # Its own temporary directory: servers sharing /tmp can pick the same temporary file
        # names (seen: mariadb-install-db aborting on another instance's #sql-temptable file).
        self.tmpdir = self.root / "tmp"
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    # --- lifecycle -------------------------------------------------------
    def start(self, timeout: float = 60) -> "PrivateMariaDB":
        if not self.datadir.exists():
            self._install()
        self.tmpdir.mkdir(parents=True, exist_ok=True)
        args = [server_binary(), "--no-defaults", f"--datadir={self.datadir}",
                f"--socket={self.socket}", f"--port={self.port}", "--bind-address=127.0.0.1",
                f"--pid-file={self.root / 'mysqld.pid'}", f"--log-error={self.root / 'error.log'}",
                f"--server-id={self.server_id}", f"--tmpdir={self.tmpdir}", "--innodb-buffer-pool-size=256M",
                "--innodb-log-file-size=256M", "--innodb-flush-log-at-trx-commit=2",
                "--skip-name-resolve", "--local-infile=1"]
        if self.log_bin:
            args += [f"--log-bin={self.datadir / 'binlog'}", "--binlog-format=ROW"]
        if os.geteuid() == 0:
            args.append("--user=root")
        for key, value in self.options.items():
            args.append(f"--{key}" if value is True else f"--{key}={value}")
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"mariadbd exited at start:\n{self.error_log()[-3000:]}")
            if self._answers():
                return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"mariadbd did not answer within {timeout}s:\n{self.error_log()[-3000:]}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        self.proc = None
        if not self.keep:
            shutil.rmtree(self.root, ignore_errors=True)

    def kill(self) -> None:
        """Crash the server (SIGKILL), keeping its datadir: for fault tests."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        self.proc = None

    def __enter__(self) -> "PrivateMariaDB":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # --- access ----------------------------------------------------------
    @property
    def url(self) -> str:
        return f"mysql://root@127.0.0.1:{self.port}"

    def connect(self, database: str | None = None, **kwargs):
        import MySQLdb

        return MySQLdb.connect(host="127.0.0.1", port=self.port, user=kwargs.pop("user", "root"),
                               passwd=kwargs.pop("passwd", ""), db=database or "",
                               charset="utf8mb4", local_infile=1, **kwargs)

    def sql(self, statement: str, database: str | None = None):
        conn = self.connect(database)
        try:
            cur = conn.cursor()
            cur.execute(statement)
            rows = cur.fetchall() if cur.description else []
            conn.commit()
            return rows
        finally:
            conn.close()

    def error_log(self) -> str:
        path = self.root / "error.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def _install(self) -> None:
        installer = shutil.which("mariadb-install-db") or shutil.which("mysql_install_db")
        if not installer:
            raise RuntimeError("mariadb-install-db not found (apt-get install mariadb-server)")
        self.tmpdir.mkdir(parents=True, exist_ok=True)
        args = [installer, "--no-defaults", f"--datadir={self.datadir}", f"--tmpdir={self.tmpdir}",
                "--auth-root-authentication-method=normal", "--skip-test-db"]
        if os.geteuid() == 0:
            args.append("--user=root")
        out = subprocess.run(args, capture_output=True, text=True)
        if out.returncode != 0:
            raise RuntimeError(f"mariadb-install-db failed: {out.stderr[-2000:]}")

    def _answers(self) -> bool:
        try:
            self.connect().close()
            return True
        except Exception:
            return False


def main() -> None:
    """`python -m tools.private_mariadb DIR`: run a server in the foreground until killed."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("basedir")
    parser.add_argument("--port", type=int)
    parser.add_argument("--log-bin", action="store_true")
    args = parser.parse_args()
    server = PrivateMariaDB(basedir=args.basedir, log_bin=args.log_bin, keep=True)
    if args.port:
        server.port = args.port
    server.start()
    print(server.url, flush=True)
    try:
        server.proc.wait()
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
