"""SQLite expressions that turn a source row into what MySQL receives, computed inside
SQLite's scan (C speed). Python is called only where exactness needs it: REAL values of
DECIMAL/DOUBLE columns, date/time text not already in MySQL's form, booleans in words,
and numbers in text and BLOB columns (SQLite's own number-to-text keeps only 15 digits).

Also the SQL that decides which rows the quarantine sets aside (a value that does not fit,
or a unique key value another row also becomes in MySQL), used alike by the copy, the
verification and the catch-up."""
from __future__ import annotations

import json

from sqlite_to_mysql.plan import ColumnPlan, TablePlan
from sqlite_to_mysql.profiling import DATE_GLOB, DATETIME_GLOBS, TIME_GLOBS
from sqlite_to_mysql.source_schema import qi

TEXT_KINDS = ("text", "json")


def _lit(value) -> str:
    return "NULL" if value is None else repr(int(value))


def _globs(c: str, patterns) -> str:
    return "(" + " OR ".join(f"{c} GLOB '{p}'" for p in patterns) + ")"


def value_sql(col: ColumnPlan) -> str:
    """The canonical MySQL text of the column's value (NULL stays NULL)."""
    c = qi(col.source)
    a, b = _lit(col.args[0]), _lit(col.args[1] if len(col.args) > 1 else None)
    udf = f"s2m_{col.kind}({c}, {a}, {b})"
    storage = col.storage
    if col.kind == "int":  # a REAL holding an integer (an override on a REAL column) as that integer
        return f"CASE WHEN typeof({c}) = 'real' THEN {udf} ELSE {c} END" if storage.get("real") else c
    if col.kind == "bool":
        return f"CASE WHEN {c} IN (0, 1) AND typeof({c}) = 'integer' THEN {c} ELSE {udf} END"
    if col.kind == "decimal":
        if not storage.get("real") and not storage.get("text"):
            return c
        return f"CASE WHEN typeof({c}) = 'integer' THEN {c}{_real_decimal_when(col)} ELSE {udf} END"
    if col.kind == "double":
        limit = f" AND {c} BETWEEN -9007199254740992 AND 9007199254740992" if col.kind == "double" else ""
        return f"CASE WHEN typeof({c}) = 'integer'{limit} THEN {c} ELSE {udf} END"
    if col.kind == "datetime":
        fast = DATETIME_GLOBS if col.args[0] == 6 else DATETIME_GLOBS[:1]
        return f"CASE WHEN typeof({c}) = 'text' AND {_globs(c, fast)} THEN {c} ELSE {udf} END"
    if col.kind == "date":
        return f"CASE WHEN typeof({c}) = 'text' AND {c} GLOB '{DATE_GLOB}' THEN {c} ELSE {udf} END"
    if col.kind == "time":
        fast = TIME_GLOBS if col.args[0] == 6 else TIME_GLOBS[:1]
        return f"CASE WHEN typeof({c}) = 'text' AND {_globs(c, fast)} THEN {c} ELSE {udf} END"
    if col.kind in TEXT_KINDS:
        if storage.get("integer") or storage.get("real") or storage.get("blob"):
            return f"CASE WHEN typeof({c}) = 'text' THEN {c} ELSE s2m_text({c}, NULL, NULL) END"
        return c
    if col.kind == "blob":  # numbers as their exact text (CAST(real AS BLOB) keeps 15 digits)
        return f"CASE WHEN typeof({c}) = 'real' THEN s2m_text({c}, NULL, NULL) ELSE {c} END" \
            if storage.get("real") else c
    if col.kind == "uuid":
        return (f"substr({c}, 1, 8) || '-' || substr({c}, 9, 4) || '-' || substr({c}, 13, 4) || '-' || "
                f"substr({c}, 17, 4) || '-' || substr({c}, 21)")
    raise AssertionError(col.kind)


def _real_decimal_when(col: ColumnPlan) -> str:
    """A WHEN branch giving a REAL its DECIMAL(p,s) text in C, where that is provably what
    values.decimal_text returns (its shortest round-trip form, padded to s places); other
    REALs go to Python.

    With |x| < 10^(14-s), distinct s-place decimals are more than 40 ulps of x apart, so at
    most one of them reads back as x: the padded shortest form. printf's text reading back as
    x therefore proves it is that one (a REAL with more places reads back as another number
    and goes to Python, which refuses it). |x| < 10^(p-s) keeps it inside the column; zero
    goes to Python for its sign (MySQL has no negative zero)."""
    precision, scale = int(col.args[0]), int(col.args[1])
    digits = min(precision - scale, 14 - scale)
    if digits < 1:
        return ""
    c = qi(col.source)
    text = f"printf('%.{scale}f', {c})"
    return (f" WHEN typeof({c}) = 'real' AND {c} > -1e{digits} AND {c} < 1e{digits} AND {c} <> 0 "
            f"AND CAST({text} AS REAL) = {c} THEN {text}")


def _decimal_canonical(col: ColumnPlan) -> str:
    """DECIMAL(p,s) as MySQL prints it, in C for integers and plain REALs."""
    c = qi(col.source)
    precision, scale = int(col.args[0]), int(col.args[1])
    integer = f"typeof({c}) = 'integer'"
    if precision - scale < 19:
        integer += f" AND {c} > -{10 ** (precision - scale)} AND {c} < {10 ** (precision - scale)}"
    padded = f"{c} || '.{'0' * scale}'" if scale else c
    return (f"CASE WHEN {integer} THEN {padded}{_real_decimal_when(col)} "
            f"ELSE s2m_decimal({c}, {precision}, {scale}) END")


def _hex_path(col: ColumnPlan) -> bool:
    """Blobs, and text holding NUL bytes, travel as hex: no escaping can corrupt them."""
    return col.kind == "blob" or (col.kind in TEXT_KINDS and col.storage.get("with_nul"))


def tsv_field(col: ColumnPlan) -> str:
    v = value_sql(col)
    if _hex_path(col):
        # hex(NULL) is '' in SQLite: test NULL first, or NULL would arrive as an empty value
        return f"CASE WHEN {v} IS NULL THEN '\\N' ELSE hex(CAST({v} AS BLOB)) END"
    if col.kind in TEXT_KINDS:
        v = f"replace(replace(replace({v}, '\\', '\\\\'), char(9), '\\t'), char(10), '\\n')"
    return f"ifnull({v}, '\\N')"


def sql_literal(col: ColumnPlan) -> str:
    """A MySQL literal (the session runs with NO_BACKSLASH_ESCAPES)."""
    v = value_sql(col)
    if _hex_path(col):
        return f"CASE WHEN {v} IS NULL THEN 'NULL' ELSE 'X''' || hex(CAST({v} AS BLOB)) || '''' END"
    if col.kind in ("int", "bool", "decimal", "double"):
        return f"ifnull({v}, 'NULL')"
    return f"ifnull('''' || replace({v}, '''', '''''') || '''', 'NULL')"


def line_sql(tp: TablePlan, rowid: str, method: str) -> str:
    fields = []
    if tp.hidden_rowid:
        fields.append(rowid)
    for col in tp.columns:
        fields.append(tsv_field(col) if method == "load_data" else sql_literal(col))
    sep = " || char(9) || " if method == "load_data" else " || ',' || "
    body = sep.join(fields)
    if method == "load_data":
        return body if len(fields) > 1 else f"'' || {body}"  # text, even for one integer column
    return f"'(' || {body} || ')'"


def load_columns(tp: TablePlan, quote) -> tuple[str, str]:
    """LOAD DATA column list and SET clause (hex fields are decoded by the server)."""
    fields = ([(tp.key_target[0], None)] if tp.hidden_rowid else []) + [(c.target, c) for c in tp.columns]
    hexed = any(_hex_path(c) for c in tp.columns)
    names, sets = [], []
    for i, (target, col) in enumerate(fields):
        var = f"@h{i}"
        if col is not None and _hex_path(col):
            expression = f"UNHEX({var})" if col.kind == "blob" else f"CONVERT(UNHEX({var}) USING utf8mb4)"
        elif hexed and (col is None or col.auto_increment):
            # with a SET clause MariaDB renumbers an AUTO_INCREMENT value 0 loaded directly,
            # despite NO_AUTO_VALUE_ON_ZERO; through a variable it stays 0
            expression = var
        else:
            names.append(quote(target))
            continue
        names.append(var)
        sets.append(f"{quote(target)} = {expression}")
    return ", ".join(names), (" SET " + ", ".join(sets)) if sets else ""


def raw_sql(column_sql: str) -> str:
    """The value as it is: text as its bytes (Python cannot decode text that is not UTF-8),
    everything else as itself (a REAL keeps all its digits)."""
    return f"CASE WHEN typeof({column_sql}) = 'text' THEN CAST({column_sql} AS BLOB) ELSE {column_sql} END"


def problem_sql(col: ColumnPlan) -> str:
    """Why the column's value does not fit its planned type (NULL when it does). Where the
    server was asked (server_types), JSON validity is its answer, not Python's."""
    c = qi(col.source)
    a, b = _lit(col.args[0]), _lit(col.args[1] if len(col.args) > 1 else None)
    kind = "text" if col.kind == "json" and col.refused is not None else col.kind
    check = f"s2m_problem('{kind}', typeof({c}), {raw_sql(c)}, {a}, {b})"
    if not col.refused:
        return check
    # refused: values as MySQL receives them, compared (once the value is known to convert) by
    # their bytes in hex, since SQLite's JSON functions stop a string at a NUL
    listed = json.dumps([v.encode("utf-8").hex().upper() for v in col.refused])
    return (f"CASE WHEN {check} IS NOT NULL THEN {check} WHEN hex(CAST({value_sql(col)} AS BLOB)) IN (SELECT "
            f"value FROM json_each('{listed}')) THEN 'the server''s {col.ddl_type} type refuses it' END")


def _value_bad_sql(tp: TablePlan) -> str | None:
    parts = [f"{problem_sql(tp.column(name))} IS NOT NULL" for name in tp.quarantine_columns]
    return " OR ".join(parts) if parts else None


def _distinct_key_rows(tp: TablePlan, columns: list[str]) -> str:
    """Rows a unique key constrains in MySQL: none with NULL in it (MySQL keeps those apart),
    none whose key value does not convert (a conflict named as such under every policy, which
    must not hide a collision among the others), none set aside for its values."""
    where = " AND ".join(f"{qi(c)} IS NOT NULL AND {problem_sql(tp.column(c))} IS NULL" for c in columns)
    value_bad = _value_bad_sql(tp)
    return where + (f" AND NOT ({value_bad})" if value_bad else "")


def _key_sql(col: ColumnPlan) -> str:
    """The MySQL form of a key value, compared as SQLite compares: as text where the canonical
    form mixes storage classes (a boolean's 0 stays an integer, its 'false' becomes the text
    '0'; GROUP BY keeps those apart, MySQL's unique key does not)."""
    canon = canonical_sql(col)
    return canon if col.kind in ("blob",) + TEXT_KINDS else f"CAST({canon} AS TEXT)"


def colliding_groups_sql(tp: TablePlan, columns: list[str]) -> str:
    """SELECT of the MySQL forms (canonical values) of a unique key held by more than one
    source row, with their row counts n."""
    canon = ", ".join(_key_sql(tp.column(c)) for c in columns)
    return (f"SELECT {canon}, count(*) AS n FROM {qi(tp.source)} WHERE {_distinct_key_rows(tp, columns)} "
            f"GROUP BY {canon} HAVING count(*) > 1")


def collides_sql(tp: TablePlan, columns: list[str], *, groups: int | None = None) -> str:
    """True for a row whose key value another row also becomes in MySQL (of the first
    `groups` such values only, when given). CASE: a row outside the key is never converted."""
    canon = ", ".join(_key_sql(tp.column(c)) for c in columns)
    distinct = _distinct_key_rows(tp, columns)
    limit = f" LIMIT {int(groups)}" if groups else ""
    return (f"CASE WHEN {distinct} THEN ({canon}) IN (SELECT {canon} FROM {qi(tp.source)} WHERE {distinct} "
            f"GROUP BY {canon} HAVING count(*) > 1{limit}) ELSE 0 END")


def bad_row_sql(tp: TablePlan) -> str | None:
    """True for rows the quarantine policy sets aside (None when nothing is quarantined): a
    value that does not fit, or a key value another row also becomes in MySQL. (CASE keeps
    the order: a value that does not convert is never converted for the key check.)"""
    value_bad = _value_bad_sql(tp)
    if not tp.quarantine_keys:
        return value_bad
    whens = ([f"WHEN {value_bad} THEN 1"] if value_bad else []) + \
        [f"WHEN {collides_sql(tp, cols)} THEN 1" for cols in tp.quarantine_keys.values()]
    return f"(CASE {' '.join(whens)} ELSE 0 END)"


def problems_sql(tp: TablePlan) -> str:
    """JSON object column (or unique key) -> problem for a quarantined row."""
    items = [f"'{_sql_text(name)}', {problem_sql(tp.column(name))}" for name in tp.quarantine_columns]
    value_bad = _value_bad_sql(tp)
    for label, cols in tp.quarantine_keys.items():
        check = f"WHEN {collides_sql(tp, cols)} THEN 'another row holds the same value in MySQL'"
        items.append(f"'{_sql_text(label)}', CASE {f'WHEN {value_bad} THEN NULL ' if value_bad else ''}{check} END")
    return f"json_object({', '.join(items)})"


def _sql_text(text: str) -> str:
    return text.replace("'", "''")


def canonical_sql(col: ColumnPlan) -> str:
    """Source side of the checksum: the exact text MySQL prints for the stored value.

    Datetimes and times carry exactly their column's fraction digits (MySQL prints
    DATETIME(6) with six, TIME(3) with three), also where the text has none."""
    c = qi(col.source)
    a, b = _lit(col.args[0]), _lit(col.args[1] if len(col.args) > 1 else None)
    if col.kind in ("datetime", "time") and col.args[0]:
        fsp = int(col.args[0])
        bare, full = DATETIME_GLOBS if col.kind == "datetime" else TIME_GLOBS
        exact = f"WHEN typeof({c}) = 'text' AND {c} GLOB '{full}' THEN {c} " if fsp == 6 else ""
        return (f"CASE {exact}WHEN typeof({c}) = 'text' AND {c} GLOB '{bare}' THEN {c} || '.{'0' * fsp}' "
                f"ELSE s2m_{col.kind}({c}, {a}, {b}) END")
    if col.kind == "decimal":
        return _decimal_canonical(col)
    if col.kind == "double":
        return f"s2m_double({c}, NULL, NULL)"
    if col.kind in ("datetime", "time", "date", "bool"):
        return value_sql(col)  # already MySQL's text where the fast path applies
    if col.kind in ("blob",) + TEXT_KINDS:
        return f"CAST({value_sql(col)} AS BLOB)"
    return value_sql(col)
