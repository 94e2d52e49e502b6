"""Seed a read replica from a full backup and start replication where the dump's snapshot ends.

The dump records the primary's binlog coordinates of its snapshot (file/position, and on
MariaDB the GTID position). Loading it on the replica and replicating from exactly there
gives the replica every later transaction once: none missing, none applied twice. The
restore code of mysql_backup loads the dump (checksums and key checked first); binlogs are
not replayed, the replica fetches them from the primary itself.

The backup holds one database, so the replica replicates only that database
(replicate_wild_do_table): a write to another database on the primary would otherwise stop
the SQL thread on a table the replica does not have.
"""
from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass

from mysql_common.errors import ConfigurationError, PermanentError
from mysql_common.identifiers import check_identifier

from mysql_backup.access import MySqlAccess
from mysql_backup.catalog import load_catalog
from mysql_backup.crypto import AgeKey
from mysql_backup.manifest import FullManifest, Layout
from mysql_backup.restore import choose_database, plan_for, restore_backup
from mysql_backup.server import server_facts
from mysql_backup.storage import Storage
from mysql_hardening.replication import ReplicaStatus, problems, replica_status

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReplicationSource:
    """The primary as the replica reaches it, with the replication account (REPLICATION SLAVE).

    TLS file paths are paths on the replica's host: the replica's server opens them.
    """

    host: str
    port: int
    user: str
    password: str
    ssl_ca: str | None = None
    ssl_cert: str | None = None
    ssl_key: str | None = None

    @property
    def tls(self) -> bool:
        return bool(self.ssl_ca or self.ssl_cert or self.ssl_key)

    def describe(self) -> str:
        return f"{self.user}@{self.host}:{self.port}" + (" (TLS)" if self.tls else "")


@dataclass
class SeedReport:
    action: str  # "seeded" or "already_replicating"
    replica: str
    source: str
    backup_id: str | None = None
    database: str | None = None
    start: str | None = None  # where replication started: "GTID 0-1-42" or "binlog.000003:1234"
    status: dict | None = None

    def as_dict(self) -> dict:
        return asdict(self)


def wild_table_pattern(database: str) -> str:
    """replicate_wild_do_table value for every table of one database (`_` and `%` taken literally)."""
    escaped = check_identifier(database).replace("\\", "\\\\").replace("_", "\\_").replace("%", "\\%")
    return f"{escaped}.%"


def choose_backup(storage: Storage, server: str, database: str | None, backup_id: str | None) -> FullManifest:
    catalog = load_catalog(storage, Layout(server))
    database = choose_database(catalog, database)
    full = plan_for(catalog, database, backup_id=backup_id, target_time=None, stop_at=None, dump_only=True).full
    if full.position is None:
        raise ConfigurationError(f"backup {full.backup_id} was taken from a server without a binary log: it "
                                 "records no position to replicate from (enable log_bin on the primary and "
                                 "take a new full backup)")
    return full


def source_statement(source: ReplicationSource, full: FullManifest, *, mariadb: bool) -> tuple[str, list, str]:
    """CHANGE MASTER (MariaDB) / CHANGE REPLICATION SOURCE (MySQL 8.4) with its parameters.

    MariaDB starts from the recorded GTID (MASTER_USE_GTID=slave_pos, the position survives a
    failover of the primary); without a GTID, and on MySQL, from the recorded file/position.
    """
    word = "MASTER" if mariadb else "SOURCE"
    parts = [f"{word}_HOST = %s", f"{word}_PORT = %s", f"{word}_USER = %s", f"{word}_PASSWORD = %s"]
    params: list = [source.host, int(source.port), source.user, source.password]
    position = full.position
    if mariadb and position.gtid:
        parts.append("MASTER_USE_GTID = slave_pos")
        start = f"GTID {position.gtid}"
    else:
        parts += [f"{word}_LOG_FILE = %s", f"{word}_LOG_POS = %s"]
        params += [position.file, int(position.position)]
        if mariadb:
            parts.append("MASTER_USE_GTID = no")
        start = f"{position.file}:{position.position}"
    if source.tls:
        if not source.ssl_ca:
            raise ConfigurationError("the replication connection's ssl extra needs \"ca\" (the CA that signed the "
                                     "primary's certificate, a path on the replica's host): without it the "
                                     "replica cannot verify the primary")
        parts.append(f"{word}_SSL = 1")
        for value, option in ((source.ssl_ca, "CA"), (source.ssl_cert, "CERT"), (source.ssl_key, "KEY")):
            if value:
                parts.append(f"{word}_SSL_{option} = %s")
                params.append(value)
        parts.append(f"{word}_SSL_VERIFY_SERVER_CERT = 1")
    elif not mariadb:
        parts.append("GET_SOURCE_PUBLIC_KEY = 1")  # caching_sha2_password over plain TCP
    head = "CHANGE MASTER TO " if mariadb else "CHANGE REPLICATION SOURCE TO "
    return head + ", ".join(parts), params, start


def _admin_connection(replica: MySqlAccess):
    """Autocommit: SET GLOBAL read_only and the replication statements refuse to run in a transaction."""
    conn = replica.connect()
    conn.autocommit(True)
    return conn


def _execute(conn, statement: str, params=None) -> None:
    cur = conn.cursor()
    try:
        cur.execute(statement, params)
    finally:
        cur.close()


def _database_exists(conn, database: str) -> bool:
    cur = conn.cursor()
    cur.execute("SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s", (database,))
    found = cur.fetchone() is not None
    cur.close()
    return found


def wait_running(conn, timeout: float) -> ReplicaStatus:
    """Until both threads run and the lag is known; an error reported by either thread fails at once."""
    deadline = time.monotonic() + timeout
    while True:
        status = replica_status(conn)
        if status.io_running == "Yes" and status.sql_running == "Yes" and status.lag_seconds is not None:
            return status
        if status.last_io_error or status.last_sql_error or time.monotonic() > deadline:
            raise PermanentError("replication did not start: " + "; ".join(problems(status, float("inf"))) +
                                 ". Fix the cause (docs/replica.md), then START SLAVE on the replica")
        time.sleep(0.2)


def seed_replica(replica: MySqlAccess, source: ReplicationSource, storage: Storage, age_key: AgeKey, *,
                 server: str, database: str | None = None, backup_id: str | None = None,
                 reseed: bool = False, start_timeout: float = 60) -> SeedReport:
    """Load the latest (or backup_id) full backup into the replica and start replicating.

    A replica that already replicates is reported and left alone; reseed=True stops it, drops
    and reloads its database. server is the primary's folder in the backup storage.
    """
    conn = replica.connect()
    try:
        facts = server_facts(conn)
        current = replica_status(conn)
    finally:
        conn.close()
    report = SeedReport("seeded", replica.describe(), source.describe())
    if current.configured and not reseed:
        if (current.source_host, current.source_port) != (source.host, int(source.port)):
            raise ConfigurationError(f"{replica.describe()} already replicates from {current.source_host}:"
                                     f"{current.source_port}, not {source.host}:{source.port}: check the "
                                     "connections, or reseed to switch it over")
        found = problems(current, float("inf"))
        if found:
            raise ConfigurationError(f"{replica.describe()} is configured as a replica but not replicating: "
                                     f"{'; '.join(found)}. Fix the cause, or reseed (drops and reloads its data)")
        log.info("%s already replicates from %s: nothing to do", replica.describe(), source.describe())
        report.action, report.status = "already_replicating", current.as_dict()
        return report

    full = choose_backup(storage, server, database, backup_id)
    if full.server_id == facts.server_id:
        raise ConfigurationError(f"the replica has server_id {facts.server_id}, the same as the primary the "
                                 f"backup came from: give the replica its own server_id (my.cnf)")
    report.backup_id, report.database = full.backup_id, full.database
    conn = _admin_connection(replica)
    try:
        if reseed:
            log.warning("reseeding %s: stopping replication, dropping and reloading %s", replica.describe(),
                        full.database)
            _execute(conn, "STOP SLAVE" if facts.info.is_mariadb else "STOP REPLICA")
            _execute(conn, "RESET SLAVE ALL" if facts.info.is_mariadb else "RESET REPLICA ALL")
        elif _database_exists(conn, full.database):
            raise ConfigurationError(f"database {full.database!r} already exists on {replica.describe()}, which "
                                     "is not replicating (an interrupted seed, or the wrong server?): reseed to "
                                     "drop and reload it")
    finally:
        conn.close()

    restore_backup(replica, storage, age_key, server=server, database=full.database, backup_id=full.backup_id,
                   target_database=full.database, overwrite=reseed, dump_only=True)

    statement, params, report.start = source_statement(source, full, mariadb=facts.info.is_mariadb)
    pattern = wild_table_pattern(full.database)
    conn = _admin_connection(replica)
    try:
        if facts.info.is_mariadb:
            if full.position.gtid:
                _execute(conn, "SET GLOBAL gtid_slave_pos = %s", (full.position.gtid,))
            _execute(conn, "SET GLOBAL replicate_wild_do_table = %s", (pattern,))
        else:
            _execute(conn, "CHANGE REPLICATION FILTER REPLICATE_WILD_DO_TABLE = (%s)", (pattern,))
        _execute(conn, statement, params)
        # Writes by the application would make the replica diverge; replication itself is exempt.
        _execute(conn, "SET GLOBAL read_only = 1")
        _execute(conn, "START SLAVE" if facts.info.is_mariadb else "START REPLICA")
        log.info("%s replicates %s from %s starting at %s (backup %s)", replica.describe(), full.database,
                 source.describe(), report.start, full.backup_id)
        report.status = wait_running(conn, start_timeout).as_dict()
    finally:
        conn.close()
    return report
