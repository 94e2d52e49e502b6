"""Key predicates in both dialects, in one place: keyset pages (the copy), key ranges
(verification's segments) and key lists (catch-up, the freeze check).

Key expressions come quoted for SQLite (`"id"`, as TablePlan.key_source holds them); MySQL
columns come as names (TablePlan.key_target) and are quoted here. A key part that is text
SQLite holds as bytes that are not UTF-8 (row_transport.RawText) binds back as that text.

A NULL key part matches nothing in either dialect (SQL's three-valued logic): a table whose
key may hold NULL is read by its rowid instead (planner), so no row is lost by these.
"""
from __future__ import annotations

from collections.abc import Sequence

from mysql_common.identifiers import quote
from sqlite_to_mysql.row_transport import RawText


def key_name(expr: str) -> str:
    """The column name of a SQLite key expression ('"id"' -> 'id'), as the operator knows it."""
    return expr[1:-1].replace('""', '"') if expr.startswith('"') and expr.endswith('"') else expr


def _sqlite_marks(key: Sequence) -> list[str]:
    return ["CAST(? AS TEXT)" if isinstance(v, RawText) else "?" for v in key]


def _sqlite_params(key: Sequence) -> list:
    return [bytes(v) if isinstance(v, RawText) else v for v in key]


def sqlite_compare(exprs: list[str], op: str, key: Sequence) -> tuple[str, list]:
    """`(a, b) > (?, ?)`: SQLite's row values walk the primary key index in order."""
    return f"({', '.join(exprs)}) {op} ({', '.join(_sqlite_marks(key))})", _sqlite_params(key)


def _range(compare, keys: list[str], low: Sequence | None, high: Sequence | None) -> tuple[str, list]:
    """low <= key < high (either end open when None); `1` for the whole table."""
    parts, params = [], []
    for bound, op in ((low, ">="), (high, "<")):
        if bound is not None:
            sql, p = compare(keys, op, bound)
            parts.append(sql)
            params += p
    return " AND ".join(parts) or "1", params


def sqlite_range(exprs: list[str], low: Sequence | None, high: Sequence | None) -> tuple[str, list]:
    return _range(sqlite_compare, exprs, low, high)


def sqlite_in(exprs: list[str], keys: list[tuple]) -> tuple[str, list]:
    """`expr IN (...)` or `(a, b) IN (VALUES (...), ...)`: SQLite looks each key up by index."""
    params = [v for key in keys for v in _sqlite_params(key)]
    if len(exprs) == 1:
        return f"{exprs[0]} IN ({', '.join(m for key in keys for m in _sqlite_marks(key))})", params
    rows = ", ".join(f"({', '.join(_sqlite_marks(key))})" for key in keys)
    return f"({', '.join(exprs)}) IN (VALUES {rows})", params


def mysql_compare(columns: list[str], op: str, key: Sequence) -> tuple[str, list]:
    """(a, b) >= (x, y) spelled out as `a > x OR (a = x AND b >= y)`, so MySQL and MariaDB
    both use the primary key range (neither does for a row-value comparison)."""
    cols = [quote(c) for c in columns]
    if len(cols) == 1:
        return f"{cols[0]} {op} %s", [key[0]]
    if op == "=":
        return "(" + " AND ".join(f"{c} = %s" for c in cols) + ")", list(key)
    strict = op[0]  # '>' or '<'
    clauses, params = [], []
    for i in range(len(cols)):
        last_op = op if i == len(cols) - 1 else strict
        equal = [f"{cols[j]} = %s" for j in range(i)]
        clauses.append("(" + " AND ".join([*equal, f"{cols[i]} {last_op} %s"]) + ")")
        params += [*key[:i], key[i]]
    return "(" + " OR ".join(clauses) + ")", params


def mysql_range(columns: list[str], low: Sequence | None, high: Sequence | None) -> tuple[str, list]:
    return _range(mysql_compare, columns, low, high)


def mysql_in(columns: list[str], keys: list[tuple]) -> tuple[str, list]:
    """`col IN (%s, ...)` or `(a, b) IN ((%s, %s), ...)`."""
    params = [v for key in keys for v in key]
    cols = [quote(c) for c in columns]
    if len(cols) == 1:
        return f"{cols[0]} IN ({', '.join('%s' for _ in keys)})", params
    row = "(" + ", ".join("%s" for _ in cols) + ")"
    return f"({', '.join(cols)}) IN ({', '.join(row for _ in keys)})", params
