"""Encryption at rest: InnoDB tablespaces, redo log and temporary files encrypted on disk.

MariaDB: the file_key_management plugin reads AES keys from a key file (`<id>;<64 hex digits>`
per line) kept outside the data directory, readable by the server's user only; InnoDB encrypts
tables, the redo log and temporary tables, and the server its temporary files and binlogs.
MySQL 8.4: the component_keyring_file component (a manifest next to mysqld and a config in the
plugin directory) and default_table_encryption=ON; the compose stack does this (Docker only).

What it protects against: someone who gets the files (a stolen disk or volume snapshot, a copied
datadir, a discarded drive) reads no table data without the key. What it does not: anyone who
can log in to the server (the application, a DBA, an SQL injection) reads plaintext as before;
the key on the same host as the data protects only against copies that leave the key behind;
backups (dumps) are plaintext SQL, which is why they are encrypted separately (age).

This module writes key files, says which server options to set, lists unencrypted tablespaces
(a health finding) and re-encrypts existing tables in place (ALTER TABLE ... ENCRYPTED=YES, a
table rebuild). Turning encryption on needs the options at server start: that is the DBA's
restart, not something a DAG should do.
"""
from __future__ import annotations

import os
import secrets
import stat
from dataclasses import asdict, dataclass, field
from pathlib import Path

from mysql_common.errors import ConfigurationError
from mysql_common.identifiers import quote
from mysql_common.session import server_info

KEY_BYTES = 32  # AES-256


def new_key() -> bytes:
    return secrets.token_bytes(KEY_BYTES)


def key_file_text(keys: dict[int, bytes]) -> str:
    """file_key_management's format: one `<key id>;<hex key>` per line, key 1 is the default."""
    if 1 not in keys:
        raise ConfigurationError("the key file needs key id 1 (InnoDB's default key)")
    return "".join(f"{key_id};{key.hex()}\n" for key_id, key in sorted(keys.items()))


def write_key_file(path: str | Path, keys: dict[int, bytes], *, datadir: str | Path | None = None) -> Path:
    """Write the key file 0600 in a 0700 directory, refusing a place inside the data directory
    (a copy of the datadir must not carry its own key)."""
    path = Path(path).resolve()
    if datadir is not None:
        data = Path(datadir).resolve()
        if path == data or data in path.parents:
            raise ConfigurationError(f"the key file {path} is inside the data directory {data}: keep it outside, "
                                     "or a copy of the datadir carries its own key")
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key_file_text(keys))
    os.chmod(path, 0o600)
    return path


def key_file_problems(path: str | Path, datadir: str | Path | None = None) -> list[str]:
    """What is wrong with a key file's placement and permissions (empty: nothing)."""
    path = Path(path)
    problems = []
    if not path.is_file():
        return [f"{path} does not exist"]
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        problems.append(f"{path} is readable by others (mode {mode:o}): chmod 600")
    if datadir is not None and Path(datadir).resolve() in path.resolve().parents:
        problems.append(f"{path} is inside the data directory {datadir}")
    return problems


def mariadb_options(key_file: str | Path) -> dict:
    """Server options (my.cnf [mariadbd] or command line) for encryption at rest on MariaDB."""
    return {
        "plugin-load-add": "file_key_management",
        "file-key-management-filename": str(key_file),
        "file-key-management-encryption-algorithm": "AES_CTR",
        "innodb-encrypt-tables": "ON",
        "innodb-encrypt-log": "ON",
        "innodb-encrypt-temporary-tables": "ON",
        "encrypt-tmp-disk-tables": "ON",
        "encrypt-tmp-files": "ON",
        "encrypt-binlog": "ON",
        "innodb-encryption-threads": "2",
    }


def mysql_component_files(keyring_file: str) -> dict[str, str]:
    """MySQL 8.4: the global manifest (next to mysqld) and the component's config (plugin dir)."""
    import json

    return {"mysqld.my": json.dumps({"components": "file://component_keyring_file"}) + "\n",
            "component_keyring_file.cnf": json.dumps({"path": keyring_file, "read_only": False}) + "\n"}


@dataclass
class Tablespace:
    name: str
    encrypted: bool
    key_id: int | None = None


@dataclass
class EncryptionStatus:
    flavor: str
    keyring: bool  # a key management plugin/component is loaded
    settings: dict[str, str] = field(default_factory=dict)
    tablespaces: list[Tablespace] = field(default_factory=list)

    @property
    def unencrypted(self) -> list[str]:
        return [t.name for t in self.tablespaces if not t.encrypted]

    def as_dict(self) -> dict:
        return {**asdict(self), "unencrypted": self.unencrypted}


_MARIADB_SETTINGS = ("innodb_encrypt_tables", "innodb_encrypt_log", "innodb_encrypt_temporary_tables",
                     "encrypt_tmp_disk_tables", "encrypt_tmp_files", "encrypt_binlog", "file_key_management_filename")
_MYSQL_SETTINGS = ("default_table_encryption", "innodb_redo_log_encrypt", "innodb_undo_log_encrypt",
                   "binlog_encryption", "table_encryption_privilege_check")


def status(conn) -> EncryptionStatus:
    info = server_info(conn)
    cur = conn.cursor()
    names = _MARIADB_SETTINGS if info.is_mariadb else _MYSQL_SETTINGS
    cur.execute("SHOW GLOBAL VARIABLES WHERE Variable_name IN (" + ", ".join(["%s"] * len(names)) + ")", names)
    settings = {k: v for k, v in cur.fetchall()}
    if info.is_mariadb:
        cur.execute("SELECT COUNT(*) FROM information_schema.PLUGINS WHERE PLUGIN_TYPE = 'ENCRYPTION' "
                    "AND PLUGIN_STATUS = 'ACTIVE'")
        keyring = cur.fetchone()[0] > 0
        # Every InnoDB tablespace with a file, and the encryption InnoDB reports for it.
        cur.execute("SELECT t.NAME, COALESCE(e.ENCRYPTION_SCHEME, 0), e.CURRENT_KEY_ID "
                    "FROM information_schema.INNODB_SYS_TABLESPACES t "
                    "LEFT JOIN information_schema.INNODB_TABLESPACES_ENCRYPTION e ON e.SPACE = t.SPACE "
                    "ORDER BY t.NAME")
        spaces = [Tablespace(name, bool(int(scheme)), None if key is None else int(key))
                  for name, scheme, key in cur.fetchall()]
        # The temporary tablespace is recreated at each start and never listed as encrypted:
        # its pages are encrypted as they are written when the setting is on.
        temporary_on = settings.get("innodb_encrypt_temporary_tables", "OFF").upper() == "ON"
        for space in spaces:
            if space.name == "innodb_temporary":
                space.encrypted = temporary_on
    else:
        cur.execute("SELECT COUNT(*) FROM performance_schema.keyring_component_status "
                    "WHERE STATUS_KEY = 'Component_status' AND STATUS_VALUE = 'Active'")
        keyring = cur.fetchone()[0] > 0
        cur.execute("SELECT NAME, ENCRYPTION = 'Y' FROM information_schema.INNODB_TABLESPACES ORDER BY NAME")
        spaces = [Tablespace(name, bool(flag)) for name, flag in cur.fetchall()]
    cur.close()
    return EncryptionStatus(info.flavor, keyring, settings, spaces)


def finding(state: EncryptionStatus, *, databases: list[str] | None = None) -> dict:
    """A health finding in the monitor's shape (key, status, code, summary, details)."""
    if not state.keyring:
        return {"key": "encryption_at_rest", "status": "alert", "code": "ENCRYPTION_AT_REST_OFF",
                "summary": "no key management plugin is loaded: nothing is encrypted at rest (docs/hardening.md)",
                "details": {"settings": state.settings}}
    unencrypted = [n for n in state.unencrypted
                   if databases is None or n.split("/")[0] in databases or "/" not in n]
    if unencrypted:
        return {"key": "encryption_at_rest", "status": "alert", "code": "UNENCRYPTED_TABLESPACE",
                "summary": f"{len(unencrypted)} tablespace(s) not encrypted: {', '.join(unencrypted[:20])}",
                "details": {"unencrypted": unencrypted, "settings": state.settings}}
    return {"key": "encryption_at_rest", "status": "ok", "code": "UNENCRYPTED_TABLESPACE",
            "summary": f"all {len(state.tablespaces)} tablespaces are encrypted", "details": {}}


def encrypt_existing_tables(conn, database: str, *, key_id: int | None = None) -> list[str]:
    """Rebuild every unencrypted table of `database` encrypted (in place; each ALTER copies the
    table). With key_id (MariaDB), tables move to that key: how a key is rotated."""
    info = server_info(conn)
    state = status(conn)
    if not state.keyring:
        raise ConfigurationError("no key management plugin/component is loaded: start the server with the "
                                 "encryption options first (docs/hardening.md, Encryption at rest)")
    by_name = {t.name: t for t in state.tablespaces}
    cur = conn.cursor()
    cur.execute("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s "
                "AND TABLE_TYPE = 'BASE TABLE' AND ENGINE = 'InnoDB' ORDER BY TABLE_NAME", (database,))
    done = []
    for (table,) in cur.fetchall():
        space = by_name.get(f"{database}/{table}")
        if space is not None and space.encrypted and (key_id is None or space.key_id == key_id):
            continue
        if info.is_mariadb:
            clause = "ENCRYPTED=YES" + (f" ENCRYPTION_KEY_ID={int(key_id)}" if key_id else "")
        else:
            clause = "ENCRYPTION='Y'"
        cur.execute(f"ALTER TABLE {quote(database)}.{quote(table)} {clause}")
        done.append(table)
    cur.close()
    return done
