"""Compare the live server's variables with include/sql/server_recommendations.yaml.

The file holds the design's settings translated per flavor (MariaDB 10.11, MySQL 8.4); the
comparison only reports (most settings need my.cnf and a restart, which is the DBA's call).
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from pathlib import Path

import yaml

from mysql_common.errors import ConfigurationError
from mysql_common.session import server_info

from mysql_hardening import SQL_DIR

RECOMMENDATIONS = SQL_DIR / "server_recommendations.yaml"
_SIZE = re.compile(r"^(\d+)([KMGT])$", re.I)
_WORDS = {"ON": "1", "OFF": "0", "TRUE": "1", "FALSE": "0", "YES": "1", "NO": "0"}


@dataclass
class SettingCheck:
    name: str
    variable: str | None
    expected: str
    actual: str | None
    status: str  # ok | differs | missing | not_applicable
    why: str

    def as_dict(self) -> dict:
        return asdict(self)


def normalise(value) -> str:
    """'2G' -> '2147483648', 'ON'/'1' -> '1', other text upper-cased."""
    text = str(value).strip()
    size = _SIZE.match(text)
    if size:
        return str(int(size[1]) * 1024 ** "KMGT".index(size[2].upper()) * 1024)
    return _WORDS.get(text.upper(), text.upper())


def compare(expected, actual: str, how: str) -> bool:
    if how == "set":
        return actual not in ("", None)
    want, have = normalise(expected), normalise(actual)
    if how == "min":
        # Negative values are real: performance_schema sizes read -1 while it is OFF.
        if not (re.fullmatch(r"-?\d+", want) and re.fullmatch(r"-?\d+", have)):
            raise ConfigurationError(f"'min' needs numbers, got {expected!r} and {actual!r}")
        return int(have) >= int(want)
    if how == "eq":
        return want == have
    raise ConfigurationError(f"unknown comparison {how!r} in {RECOMMENDATIONS.name}")


def load(path: Path = RECOMMENDATIONS) -> list[dict]:
    entries = yaml.safe_load(path.read_text())
    for entry in entries:
        missing = {"name", "expect", "compare", "why"} - set(entry)
        if missing:
            raise ConfigurationError(f"{path.name}: entry {entry.get('name')!r} lacks {sorted(missing)}")
    return entries


def check(conn, path: Path = RECOMMENDATIONS) -> list[SettingCheck]:
    flavor = server_info(conn).flavor
    cur = conn.cursor()
    cur.execute("SHOW GLOBAL VARIABLES")
    variables = {name.lower(): value for name, value in cur.fetchall()}
    cur.close()
    results = []
    for entry in load(path):
        if "mariadb" in entry or "mysql" in entry:
            variable = entry.get(flavor)
        else:
            variable = entry["name"]
        why = " ".join(str(entry["why"]).split())
        expected = str(entry["expect"])
        if variable is None:
            results.append(SettingCheck(entry["name"], None, expected, None, "not_applicable", why))
            continue
        actual = variables.get(variable.lower())
        if actual is None:
            status = "missing"
        else:
            status = "ok" if compare(entry["expect"], actual, entry["compare"]) else "differs"
        results.append(SettingCheck(entry["name"], variable, expected, actual, status, why))
    return results
