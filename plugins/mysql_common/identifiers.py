"""Quoting of MySQL identifiers taken from untrusted sources (another database's schema).

MySQL identifiers are at most 64 characters, may not end with a space, may not contain
NUL or characters outside the BMP; inside backticks a backtick is doubled.
"""
from __future__ import annotations

import hashlib

MAX_IDENTIFIER = 64


class IdentifierError(ValueError):
    pass


def check_identifier(name: str) -> str:
    if not name:
        raise IdentifierError("empty identifier")
    if len(name) > MAX_IDENTIFIER:
        raise IdentifierError(f"identifier longer than {MAX_IDENTIFIER} characters: {name[:80]!r}")
    if name.endswith(" "):
        raise IdentifierError(f"identifier ends with a space: {name!r}")
    if "\x00" in name or any(ord(ch) > 0xFFFF for ch in name):
        raise IdentifierError(f"identifier has NUL or a non-BMP character: {name!r}")
    return name


def quote(name: str) -> str:
    """`name`, with embedded backticks doubled; refuses names MySQL cannot hold."""
    return "`" + check_identifier(name).replace("`", "``") + "`"


def qualified(database: str, table: str) -> str:
    return f"{quote(database)}.{quote(table)}"


def mysql_safe_name(name: str, *, limit: int = MAX_IDENTIFIER) -> str:
    """A deterministic MySQL-valid name for any source name.

    Names that are already valid are kept as they are. Others lose what MySQL cannot hold
    (trailing spaces, NUL, non-BMP characters) and, when too long or altered, get a short
    hash of the original so two different source names never map to the same target name.
    """
    cleaned = "".join(ch if ch != "\x00" and ord(ch) <= 0xFFFF else "_" for ch in name).rstrip(" ")
    if cleaned == name and 0 < len(name) <= limit:
        return name
    digest = hashlib.sha1(name.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    head = cleaned[: limit - 9].rstrip(" ") or "x"
    return f"{head}_{digest}"
