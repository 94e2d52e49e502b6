"""Session settings every MySQL connection of this project runs with, and server detection."""
from __future__ import annotations

from dataclasses import dataclass

# Strict mode turns would-be truncations and invalid values into errors instead of warnings.
STRICT_SQL_MODE = ",".join([
    "STRICT_ALL_TABLES", "STRICT_TRANS_TABLES", "NO_ZERO_IN_DATE", "NO_ZERO_DATE",
    "ERROR_FOR_DIVISION_BY_ZERO", "NO_ENGINE_SUBSTITUTION", "NO_AUTO_VALUE_ON_ZERO",
])


def configure_session(conn, *, extra_sql_mode: str = "") -> None:
    """utf8mb4, strict sql_mode, UTC: values go in and come out exactly as written."""
    mode = STRICT_SQL_MODE + ("," + extra_sql_mode if extra_sql_mode else "")
    cur = conn.cursor()
    cur.execute("SET NAMES utf8mb4")
    cur.execute(f"SET SESSION sql_mode = '{mode}'")
    cur.execute("SET SESSION time_zone = '+00:00'")
    cur.close()


@dataclass(frozen=True)
class ServerInfo:
    flavor: str  # "mariadb" or "mysql"
    version: tuple[int, int, int]
    version_text: str

    @property
    def is_mariadb(self) -> bool:
        return self.flavor == "mariadb"

    @property
    def key_collation(self) -> str:
        """A NO PAD binary collation: values distinct in SQLite stay distinct (case, accents,
        trailing spaces), and the order matches SQLite's BINARY order for UTF-8 text."""
        return "utf8mb4_nopad_bin" if self.is_mariadb else "utf8mb4_0900_bin"

    @property
    def text_collation(self) -> str:
        return "utf8mb4_unicode_520_ci" if self.is_mariadb else "utf8mb4_0900_ai_ci"


def server_info(conn) -> ServerInfo:
    cur = conn.cursor()
    cur.execute("SELECT VERSION()")
    text = cur.fetchone()[0]
    cur.close()
    if isinstance(text, bytes):
        text = text.decode()
    numbers = text.split("-")[0].split(".")
    version = tuple(int("".join(ch for ch in part if ch.isdigit()) or 0) for part in (numbers + ["0"] * 3)[:3])
    flavor = "mariadb" if "mariadb" in text.lower() else "mysql"
    return ServerInfo(flavor, version, text)
