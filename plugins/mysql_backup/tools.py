"""Find the command-line tools a backup needs and record their versions.

MariaDB and MySQL ship tools under different names, and on Debian `mysqldump` may be a
symlink to MariaDB's `mariadb-dump`. The binlog formats differ too: MariaDB's mariadb-binlog
cannot decode MySQL 8.4 binlogs and MariaDB's dump cannot read 8.4's binlog status. So each
tool is identified by what its --version says, never by its name, and matched to the server.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field

from mysql_common.errors import ConfigurationError

# Candidates per role, preferred first, for each server flavor.
_CANDIDATES = {
    "dump": {"mariadb": ["mariadb-dump", "mysqldump"], "mysql": ["mysqldump", "mariadb-dump"]},
    "binlog": {"mariadb": ["mariadb-binlog", "mysqlbinlog"], "mysql": ["mysqlbinlog", "mariadb-binlog"]},
    "client": {"mariadb": ["mariadb", "mysql"], "mysql": ["mysql", "mariadb"]},
}
_GENERIC = {"zstd": "zstd", "age": "age", "age_keygen": "age-keygen"}
_INSTALL_HINT = {
    ("dump", "mariadb"): "apt-get install mariadb-client",
    ("binlog", "mariadb"): "apt-get install mariadb-client",
    ("client", "mariadb"): "apt-get install mariadb-client",
    ("dump", "mysql"): "install MySQL's client tools (mysql-client 8.4: mysqldump)",
    ("binlog", "mysql"): "install MySQL's client tools (mysql-client 8.4: mysqlbinlog)",
    ("client", "mysql"): "install mysql-client or mariadb-client",
    ("zstd", None): "apt-get install zstd",
    ("age", None): "apt-get install age",
    ("age_keygen", None): "apt-get install age",
}


@dataclass(frozen=True)
class Tool:
    path: str
    version: str
    flavor: str | None  # "mariadb" or "mysql" for the MySQL tools, None for the others


def tool_flavor(version_text: str) -> str:
    """MariaDB's tools say "MariaDB" (or mariadb-binlog's "Ver 3.x"); Oracle's say "Ver 8."/"Ver 9."."""
    if "mariadb" in version_text.lower():
        return "mariadb"
    if re.search(r"\bVer (8|9)\.", version_text):
        return "mysql"
    return "mariadb"


def _version(path: str) -> str:
    out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30)
    text = (out.stdout or out.stderr).strip().splitlines()
    return text[0].strip() if text else "unknown"


def _probe(name: str, *, mysql_tool: bool = True) -> Tool | None:
    path = shutil.which(name)
    if not path:
        return None
    version = _version(path)
    real = os.path.realpath(path)
    where = path if real == path else f"{path} -> {real}"
    return Tool(path, f"{version} [{where}]", tool_flavor(version) if mysql_tool else None)


@dataclass(frozen=True)
class ToolSet:
    """The tools for one server flavor: dump, binlog, client, zstd, age, age-keygen."""

    server_flavor: str
    tools: dict[str, Tool] = field(default_factory=dict)

    def __getitem__(self, role: str) -> Tool:
        return self.tools[role]

    def path(self, role: str) -> str:
        return self.tools[role].path

    def versions(self) -> dict[str, str]:
        return {role: tool.version for role, tool in sorted(self.tools.items())}


def detect_tools(server_flavor: str, roles: tuple[str, ...] = ("dump", "binlog", "client", "zstd", "age",
                                                               "age_keygen")) -> ToolSet:
    """Detect every role's tool, or raise one ConfigurationError listing all that is missing."""
    found: dict[str, Tool] = {}
    problems: list[str] = []
    for role in roles:
        if role in _GENERIC:
            tool = _probe(_GENERIC[role], mysql_tool=False)
            if tool is None:
                problems.append(f"{_GENERIC[role]} not found ({_INSTALL_HINT[(role, None)]})")
            else:
                found[role] = tool
            continue
        probes = []
        for name in _CANDIDATES[role][server_flavor]:  # preferred first: stop at the first that fits
            tool = _probe(name)
            if tool is not None:
                probes.append(tool)
                if tool.flavor == server_flavor:
                    break
        matching = [t for t in probes if t.flavor == server_flavor]
        # The client is compatible across flavors; dump and binlog tools are not.
        usable = matching or (probes if role == "client" else [])
        if usable:
            found[role] = usable[0]
        else:
            seen = "; ".join(t.version for t in probes) or "none"
            problems.append(f"no {server_flavor} {role} tool (found: {seen}): "
                            f"{_INSTALL_HINT[(role, server_flavor)]}")
    if problems:
        raise ConfigurationError("backup tools missing: " + " | ".join(problems))
    return ToolSet(server_flavor, found)
