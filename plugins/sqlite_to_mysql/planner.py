"""Preflight: read the source, profile it, decide every target type, index and constraint,
find every value that will not fit, and apply the conflict policy. Touches no target."""
from __future__ import annotations

import fnmatch
import logging
import math
import re
import sqlite3
from dataclasses import dataclass, field, replace

from mysql_common.identifiers import mysql_safe_name
from mysql_common.session import ServerInfo
from sqlite_to_mysql import key_sql, keys, row_sql, row_transport, sqlite_functions
from sqlite_to_mysql.declared_types import read_declared
from sqlite_to_mysql.fk_order import order_tables
from sqlite_to_mysql.plan import HIDDEN_ROWID, Conflict, Plan, TablePlan
from sqlite_to_mysql.profiling import HAS_NUL, NON_ASCII_GLOB, ProfileScan, TableProfile
from sqlite_to_mysql.row_sql import raw_sql
from sqlite_to_mysql.server_types import ServerTypes
from sqlite_to_mysql.source import open_source
from sqlite_to_mysql.source_scan import SourceScan, scan_source
from sqlite_to_mysql.source_schema import SourceSchema, SourceTable, qi, read_schema
from sqlite_to_mysql.sqlite_functions import register
from sqlite_to_mysql.type_mapping import Decision, Role, decide, parse_override
from sqlite_to_mysql.values import excerpt
from sqlite_to_mysql.workers import map_with_connections

log = logging.getLogger(__name__)

POLICIES = ("fail", "widen", "quarantine")
MAX_ROWID = 2 ** 63 - 1


@dataclass
class Settings:
    """The operator's choices (the trigger form's parameters, validated)."""

    batch_rows: int = 20000
    include_tables: list[str] = field(default_factory=list)  # names or glob patterns; empty = all
    exclude_tables: list[str] = field(default_factory=list)
    on_type_conflict: str = "fail"
    type_overrides: dict[str, str] = field(default_factory=dict)  # "table.column" -> MySQL type
    examples_per_column: int = 5
    integrity_check: str = "full"  # full, quick, skip

    def __post_init__(self) -> None:
        if self.on_type_conflict not in POLICIES:
            raise ValueError(f"on_type_conflict must be one of {POLICIES}, not {self.on_type_conflict!r}")
        if self.batch_rows < 100:
            raise ValueError("batch_rows must be at least 100")
        if self.integrity_check not in ("full", "quick", "skip"):
            raise ValueError("integrity_check must be full, quick or skip")


def selected_tables(schema: SourceSchema, settings: Settings) -> list[str]:
    names = list(schema.tables)
    if settings.include_tables:
        names = [n for n in names if any(_matches(n, p) for p in settings.include_tables)]
    return [n for n in names if not any(_matches(n, p) for p in settings.exclude_tables)]


def _matches(name: str, pattern: str) -> bool:
    return name == pattern or fnmatch.fnmatchcase(name, pattern)


def build_plan(conn: sqlite3.Connection, *, source_path: str, database: str, server: ServerInfo,
               settings: Settings, types: ServerTypes | None = None) -> Plan:
    """types: the target server, asked which values its own types refuse (server_types);
    without it those rules are Python's approximation (tests that run with no server)."""
    schema = read_schema(conn)
    names = selected_tables(schema, settings)
    _check_overrides(schema, names, settings)
    table_names = _target_names(names)
    plan = Plan(source_path=source_path, database=database, flavor=server.flavor,
                server_version=server.version_text, tables=[], settings=vars(settings).copy())
    plan.name_map = {s: t for s, t in table_names.items() if s != t}
    selected = [schema.tables[n] for n in names]

    def open_connection():
        return register(open_source(source_path))

    scan = scan_source(conn, open_connection, selected,
                       {t.name: {c.name: _profile_kind(c, settings.type_overrides.get(f"{t.name}.{c.name}"))
                                 for c in t.columns} for t in selected},
                       settings.integrity_check)
    if scan.integrity is not None:
        plan.integrity = scan.integrity
        if plan.integrity != "ok":
            plan.blockers.append(f"SQLite {settings.integrity_check} integrity check failed: {plan.integrity}; "
                                 f"repair the file (sqlite3 FILE .recover) and migrate the repaired copy")
    profiles = scan.profiles
    for name in names:
        nulls = {c: profiles[name].columns[c].nulls for c in schema.tables[name].primary_key
                 if c in profiles[name].columns}
        if any(nulls.values()) and not schema.tables[name].without_rowid:
            schema.tables[name] = _row_keyed(schema.tables[name], "holds NULL")
            plan.warnings.append(
                f"{name}: primary key ({', '.join(nulls)}) holds NULL in {max(nulls.values())} rows (SQLite allows "
                f"it outside INTEGER PRIMARY KEY and WITHOUT ROWID tables): MySQL gets a UNIQUE key on "
                f"({', '.join(nulls)}), where NULLs stay distinct as in SQLite, and the rowid as its primary key "
                f"(invisible column {HIDDEN_ROWID})")
    decisions: dict[str, dict[str, Decision]] = {}
    django = "django_migrations" in schema.tables
    uuids = map_with_connections(open_connection, lambda c, name: _django_uuid_columns(c, schema.tables[name]),
                                 names) if django else [set()] * len(names)
    uuids = dict(zip(names, uuids))
    for name, uuid_columns in uuids.items():
        decisions[name] = _decide_columns(schema.tables[name], profiles[name], server, settings, widen=set(),
                                          uuid_columns=uuid_columns)
        table = schema.tables[name]
        pk = [decisions[name][c].column for c in table.primary_key if c in decisions[name]]
        if pk and not table.rowid_alias and not table.row_key_from and not keys.fits_key(pk):
            schema.tables[name] = _row_keyed(table, f"is longer than InnoDB's {keys.MAX_KEY_BYTES}-byte key limit")
            plan.warnings.append(_long_key_warning(table))
            decisions[name] = _decide_columns(schema.tables[name], profiles[name], server, settings, widen=set(),
                                              uuid_columns=uuid_columns)
    _unify_foreign_key_types(schema, names, decisions, profiles, server, settings)

    def table_plan(c, name: str) -> tuple[TablePlan, Plan]:
        # The table's scans run on this thread's connection; what it adds to the whole plan
        # goes to a scratch copy, merged below in table order (the same plan on every run).
        scratch = replace(plan, warnings=[], blockers=[])
        table = schema.tables[name]
        tp = _table_plan(c, table, table_names, profiles[name], decisions[name], server, settings, scratch, types)
        planned = {col.source: col for col in tp.columns}
        pk = [] if table.rowid_alias or table.row_key_from else [planned[k] for k in table.primary_key if k in planned]
        if pk and not keys.fits_key(pk):  # `widen` gave a key column a type longer than InnoDB can key
            table = schema.tables[name] = _row_keyed(table, f"is longer than InnoDB's {keys.MAX_KEY_BYTES}-byte "
                                                            "key limit once widened")
            decisions[name] = _decide_columns(table, profiles[name], server, settings, widen=set(),
                                              uuid_columns=uuids[name])
            scratch = replace(plan, warnings=[_long_key_warning(table)], blockers=[])
            tp = _table_plan(c, table, table_names, profiles[name], decisions[name], server, settings, scratch,
                             types)
        return tp, scratch

    for tp, scratch in map_with_connections(open_connection, table_plan, names):
        plan.tables.append(tp)
        plan.warnings += scratch.warnings
        plan.blockers += scratch.blockers
    parents = {n: schema.tables[n] for n in names}
    columns = {t.source: {c.source: c.target for c in t.columns} for t in plan.tables}
    for tp in plan.tables:
        tp.foreign_keys = keys.foreign_key_plans(schema.tables[tp.source], tp, table_names, plan, parents,
                                                 columns)
    ordering = order_tables(names, [(t.name, fk.ref_table) for t in map(schema.tables.get, names)
                                    for fk in t.foreign_keys])
    by_name = {t.source: t for t in plan.tables}
    plan.tables = [by_name[n] for n in ordering.order]
    for table in plan.tables:
        table.depends_on = ordering.depends_on[table.source]
        for fk in table.foreign_keys:
            parent = _source_of(fk.ref_table, table_names)
            fk.deferred = (table.source, parent) in ordering.deferred
    plan.deferred_edges = [list(e) for e in ordering.deferred]
    for child, parent in ordering.deferred:
        plan.warnings.append(f"foreign-key cycle: {child} -> {parent} is deferred (copied without waiting "
                             f"for {parent}; the constraint is added after all data is in)")
    for name in ordering.self_references:
        plan.warnings.append(f"{name} references itself: rows are copied in key order and the constraint "
                             f"is added after the copy")
    _orphans(scan, plan, names)
    _not_migrated(schema, names, plan)
    return plan


def _long_key_warning(table: SourceTable) -> str:
    key = table.row_key_from or table.primary_key
    return (f"{table.name}: primary key ({', '.join(key)}) can hold values longer than InnoDB's "
            f"{keys.MAX_KEY_BYTES}-byte key limit: it is a UNIQUE key in MySQL (a long unique key, exact over "
            f"the whole value), and the " + (f"generated column {HIDDEN_ROWID} the primary key" if
                                             table.without_rowid else f"rowid ({HIDDEN_ROWID}) its primary key"))


def _row_keyed(table: SourceTable, why: str) -> SourceTable:
    """The table as MySQL gets it when its primary key cannot be MySQL's (it holds NULL, or
    values longer than InnoDB can key): the key becomes a UNIQUE constraint (NULLs distinct,
    as SQLite treats them in a rowid table's key; a long unique key where it is long) and the
    rowid, or for a WITHOUT ROWID table a generated number, becomes the primary key."""
    columns = [replace(c, pk_position=0) for c in table.columns]
    indexes = [replace(i, origin="u") if i.origin == "pk" else i for i in table.indexes]
    return replace(table, columns=columns, indexes=indexes, row_key_from=table.primary_key, row_key_why=why)


def _django_uuid_columns(conn: sqlite3.Connection, table: SourceTable) -> set[str]:
    """Django declares exactly `char(32)` for UUIDField on SQLite (CharField is varchar), and
    writes 32 lowercase hex digits: such columns of a Django database are UUIDs."""
    found = set()
    for col in table.columns:
        if col.declared_type.strip().lower() != "char(32)":
            continue
        c = qi(col.name)
        bad = conn.execute(f"SELECT count(*) FROM {qi(table.name)} WHERE {c} IS NOT NULL AND NOT "
                           f"(typeof({c}) = 'text' AND length({c}) = 32 AND {c} NOT GLOB '*[^0-9a-f]*')"
                           ).fetchone()[0]
        if not bad:
            found.add(col.name)
    return found


def _profile_kind(column, override: str | None = None) -> str:
    """The kind whose checks the profile runs on a column: the type it will get decides which
    values do not fit, so an override's kind wins over the declaration's."""
    if override:
        kind, _ddl, (_length, fixed) = parse_override(override)
    else:
        declared = read_declared(column.declared_type, json_checked=column.json_checked)
        kind, fixed = declared.kind, declared.fixed
    return "char" if kind == "text" and fixed else kind


def _check_overrides(schema: SourceSchema, names: list[str], settings: Settings) -> None:
    for key in settings.type_overrides:
        table, sep, column = key.rpartition(".")
        if not sep or table not in schema.tables:
            raise ValueError(f"type_overrides key {key!r}: expected 'table.column' naming a source table")
        try:
            schema.tables[table].column(column)
        except KeyError:
            raise ValueError(f"type_overrides key {key!r}: table {table!r} has no column {column!r}") from None


def _target_names(names: list[str]) -> dict[str, str]:
    """Source -> target table names, unique even on case-insensitive file systems."""
    taken: set[str] = set()
    result = {}
    for name in names:
        target = mysql_safe_name(name)
        if target.lower() in taken:
            target = mysql_safe_name(name + "\x00")  # forces the hashed form
        taken.add(target.lower())
        result[name] = target
    return result


def _source_of(target: str, table_names: dict[str, str]) -> str:
    for source, mapped in table_names.items():
        if mapped == target:
            return source
    return target


def _roles(table: SourceTable) -> dict[str, Role]:
    roles = {c.name: Role() for c in table.columns}
    alias = table.rowid_alias
    for col in table.primary_key:
        roles[col].in_primary_key = True
        if col == alias:
            roles[col].rowid_alias = True
            roles[col].sequence = table.sequence
    for index in table.indexes:
        for col in index.columns:
            if col in roles:
                if index.unique and not index.partial:
                    roles[col].in_unique = True
                roles[col].in_index = True
    for fk in table.foreign_keys:
        for col in fk.columns:
            if col in roles:
                roles[col].in_index = True
    return roles


def column_names(table: SourceTable) -> dict[str, str]:
    """Source -> target column names; MySQL column names are case-insensitive."""
    taken: set[str] = set()
    result = {}
    for col in table.columns:
        target = mysql_safe_name(col.name)
        if target.lower() in taken or target.lower() == HIDDEN_ROWID:
            target = mysql_safe_name(col.name + "\x00")
        taken.add(target.lower())
        result[col.name] = target
    return result


def _decide_columns(table: SourceTable, profile: TableProfile, server: ServerInfo, settings: Settings,
                    widen: set[str], uuid_columns: set[str] = frozenset()) -> dict[str, Decision]:
    roles = _roles(table)
    targets = column_names(table)
    result = {}
    for col in table.columns:
        if col.generated:
            continue
        result[col.name] = decide(
            col.name, targets[col.name], col.declared_type, col.notnull, profile.columns[col.name],
            roles[col.name], server, override=settings.type_overrides.get(f"{table.name}.{col.name}"),
            widen=col.name in widen, json_checked=col.json_checked, default=col.default,
            django_uuid=col.name in uuid_columns)
    return result


def _unify_foreign_key_types(schema, names, decisions, profiles, server, settings) -> None:
    """Both ends of a foreign key get one type (MariaDB refuses mismatches): integers take the
    wider range, text takes the parent's collation."""
    for name in names:
        table = schema.tables[name]
        for fk in table.foreign_keys:
            if fk.ref_table not in decisions:
                continue
            parent = schema.tables[fk.ref_table]
            ref_cols = fk.ref_columns or parent.primary_key
            for child_col, parent_col in zip(fk.columns, ref_cols):
                child = decisions[name].get(child_col)
                par = decisions[fk.ref_table].get(parent_col)
                if not child or not par:
                    continue
                c, p = child.column, par.column
                if c.kind == p.kind == "int" and c.ddl_type != p.ddl_type:
                    wider = c if (c.args[1] - c.args[0]) >= (p.args[1] - p.args[0]) else p
                    for end in (c, p):
                        if end is not wider:
                            end.notes.append(f"{end.ddl_type} -> {wider.ddl_type}: both ends of foreign key "
                                             f"{name}.{child_col} -> {fk.ref_table}.{parent_col} get one type")
                            end.ddl_type, end.args = wider.ddl_type, list(wider.args)
                elif c.kind == p.kind == "text":
                    c.collation = p.collation
                elif c.kind != p.kind:
                    c.notes.append(f"type differs from the referenced {fk.ref_table}.{parent_col} "
                                   f"({p.ddl_type}): the foreign key constraint will be reported, not created")


def _table_plan(conn, table: SourceTable, table_names, profile: TableProfile, decisions, server,
                settings: Settings, plan: Plan, types: ServerTypes | None) -> TablePlan:
    target = table_names[table.name]
    columns = [d.column for d in decisions.values()]
    targets = {d.column.source: d.column.target for d in decisions.values()}
    if table.row_key_from and table.without_rowid:
        # no rowid: rows are still addressed by their declared key; MySQL numbers them itself
        key_source, key_target, hidden = [qi(c) for c in table.row_key_from], \
            [targets[c] for c in table.row_key_from], False
    else:
        key_source, key_target, hidden = keys.table_key(table, targets, HIDDEN_ROWID)
    tp = TablePlan(source=table.name, target=target, columns=columns, key_source=key_source,
                   key_target=key_target, copy_by_rowid=not table.without_rowid, hidden_rowid=hidden,
                   generated_key=bool(table.row_key_from and table.without_rowid), rows=profile.rows,
                   bytes=profile.bytes)
    if table.row_key_from:
        tp.notes.append(f"primary key ({', '.join(table.row_key_from)}) {table.row_key_why}: it is a UNIQUE key in "
                        f"MySQL, and " + (f"the generated invisible column {HIDDEN_ROWID}" if tp.generated_key else
                                          f"the rowid, in the invisible column {HIDDEN_ROWID},") + " the primary key")
    elif hidden:
        tp.notes.append(f"no primary key in SQLite: the rowid is kept in the invisible column "
                        f"{HIDDEN_ROWID} (primary key), so every row stays addressable and duplicates survive")
    if any(c.generated for c in table.columns):
        gen = [c.name for c in table.columns if c.generated]
        tp.notes.append(f"generated columns {gen} are not copied (their values derive from other columns; "
                        f"add them in MySQL with GENERATED ALWAYS AS if needed)")
    alias = table.rowid_alias
    if hidden:
        highest = conn.execute(f"SELECT max({key_source[0]}) FROM {qi(table.name)}").fetchone()[0] or 0
        tp.auto_increment_next = highest + 1
    if alias:
        highest = profile.columns[alias].int_max or 0
        tp.auto_increment_next = max(highest, table.sequence or 0) + 1
        if table.sequence and table.sequence > highest:
            tp.notes.append(f"AUTO_INCREMENT continues at {tp.auto_increment_next} (sqlite_sequence), above "
                            f"the highest id still present ({highest}): deleted ids are never reused")
    if tp.auto_increment_next is not None and tp.auto_increment_next > MAX_ROWID:
        plan.warnings.append(f"{table.name}: ids have reached {MAX_ROWID}, the largest rowid: MySQL refuses new rows "
                             f"that do not give an id (SQLite does so with AUTOINCREMENT; without it, SQLite "
                             f"picks an unused id at random, which MySQL cannot do)")
    for name, decision in list(decisions.items()):
        _resolve_conflicts(conn, table, tp, decision, profile, server, settings, plan, decisions, types)
    _resolve_collisions(conn, table, tp, profile, server, settings, plan, decisions)
    tp.indexes = keys.index_plans(table, tp, server, plan)
    return tp


def _resolve_conflicts(conn, table, tp: TablePlan, decision: Decision, profile, server, settings,
                       plan: Plan, decisions, types: ServerTypes | None) -> None:
    conflict = scan_conflicts(conn, table.name, tp.key_source, decision, settings.examples_per_column, types)
    col = decision.column
    if col.refused and settings.on_type_conflict != "quarantine":
        col.refused = []  # only the quarantine's row filter needs the list
    if conflict is None:
        return
    where = f"{table.name}.{col.source}"
    override = settings.type_overrides.get(where)
    # the operator chose an override: values that do not fit it are an error under every policy
    policy = "fail" if override else settings.on_type_conflict
    widened = None if override or policy == "quarantine" else \
        widen_column(conn, table, tp.key_source, col.source, profile, server, settings)
    if policy == "widen" and widened:
        tp.columns[tp.columns.index(col)] = widened.column
        decisions[col.source] = widened
        widened.column.notes.append(f"{conflict.count} values did not fit {col.ddl_type} (first: {conflict.problem})")
        return
    tp.conflicts.append(conflict)
    first = conflict.examples[0] if conflict.examples else {}
    if policy == "quarantine":
        tp.quarantine_columns.append(col.source)
        plan.warnings.append(f"{where}: {conflict.count} rows will be quarantined ({conflict.problem})")
        return
    found = (f"TYPE_CONFLICT {where} ({col.ddl_type}): {conflict.count} values do not fit; first at key "
             f"{first.get('key')}: {first.get('value')!r} ({conflict.problem}).")
    if override:
        plan.blockers.append(f"{found} The type override {override!r} does not hold them: change or remove that "
                             f"type_overrides entry")
        return
    choices = {"widen": f"the column becomes {widened.column.ddl_type}"} if widened and policy != "widen" else {}
    choices["quarantine"] = "set those rows aside"
    text = f"{found} No MySQL type holds them as they are. " if policy == "widen" else f"{found} "
    text += _way_out(choices)
    if widened:
        text += f", or give type_overrides {{\"{where}\": \"{widened.column.ddl_type}\"}}"
    plan.blockers.append(text)


def _resolve_collisions(conn, table: SourceTable, tp: TablePlan, profile: TableProfile, server, settings,
                        plan: Plan, decisions) -> None:
    """Unique keys whose values, distinct in SQLite, become one value in MySQL: widened to
    their text where that keeps them apart, quarantined, or named."""
    for hit in keys.collisions(conn, table, tp):
        where = f"{table.name} {hit.name}"
        policy = settings.on_type_conflict
        if policy == "quarantine":
            tp.quarantine_keys[hit.name] = hit.columns
            plan.warnings.append(f"{where}: {hit.rows} rows will be quarantined (values distinct in SQLite are one "
                                 f"value in MySQL: {hit.example})")
            continue
        widened = _widen_key(conn, table, tp, hit, profile, server, settings)
        if policy == "widen" and widened:
            for decision in widened.values():
                old = tp.column(decision.column.source)
                decision.column.notes.append(f"{old.ddl_type} would make values of {hit.name} that are distinct in "
                                             f"SQLite one value ({hit.example})")
                tp.columns[tp.columns.index(old)] = decision.column
                decisions[decision.column.source] = decision
            continue
        found = (f"KEY_COLLISION {where}: {hit.rows} rows in {hit.groups} groups are distinct in SQLite but one "
                 f"value in MySQL, e.g. {hit.example}.")
        if widened and policy != "widen":
            types = ", ".join(f"{d.column.source} {d.column.ddl_type}" for d in widened.values())
            way = _way_out({"widen": f"keeps them as text: {types}", "quarantine": "set those rows aside"})
            plan.blockers.append(f"{found} {way}, or make them distinct in SQLite")
        else:
            way = _way_out({"quarantine": "set those rows aside"})
            plan.blockers.append(f"{found} No MySQL type keeps them apart. {way}, or make them distinct in SQLite")


def _way_out(choices: dict[str, str]) -> str:
    """The policies that let the run past one problem, in the form ways_out() reads back."""
    return "To proceed: set on_type_conflict to " + " or ".join(f"'{p}' ({why})" for p, why in choices.items())


_WAY_OUT = re.compile(r"To proceed: set on_type_conflict to (.*?)(?:, or [a-z]|$)")


def ways_out(blocker: str) -> set[str]:
    """The policies a blocker says would let the run past it (none for most blockers)."""
    match = _WAY_OUT.search(blocker)
    return {p for p in POLICIES if match and f"'{p}' (" in match.group(1)}


def _widen_key(conn, table, tp: TablePlan, hit: keys.Collision, profile, server, settings) -> dict | None:
    """The key's converted columns kept as their text, when that leaves no collision there."""
    widened = {}
    for name in hit.columns:
        col = tp.column(name)
        if col.kind in ("int", "text", "json", "blob") or f"{table.name}.{name}" in settings.type_overrides:
            continue
        decision = widen_column(conn, table, tp.key_source, name, profile, server, settings)
        if decision is None:
            return None
        widened[name] = decision
    if not widened:
        return None
    trial = replace(tp, columns=[widened[c.source].column if c.source in widened else c for c in tp.columns])
    still = [h for h in keys.collisions(conn, table, trial) if h.columns == hit.columns]
    return None if still else widened


def widen_column(conn, table: SourceTable, key_source: list[str], name: str, profile: TableProfile,
                 server: ServerInfo, settings: Settings) -> Decision | None:
    """The type `widen` gives a column: the narrowest that holds every value as it is, chosen
    from a profile of every value (the first profile ran only the declared kind's checks).
    None when no MySQL type holds them."""
    full = ProfileScan(table, {name: "unknown"}, quick=False, only={name})
    measured = replace(profile, columns={**profile.columns, name: full.finish(conn, [full.run(conn)]).columns[name]})
    prof = measured.columns[name]
    # the narrowest first; then numbers no numeric type holds together kept as their text;
    # then text that is not UTF-8 (no profile sees it) kept as bytes
    attempts = [prof, replace(prof, texts=max(1, prof.texts), text_max_chars=max(prof.text_max_chars, 32)),
                replace(prof, blobs=max(1, prof.blobs), blob_max_bytes=max(prof.blob_max_bytes, prof.text_max_bytes))]
    tried = set()
    for attempt in attempts:
        redo = _decide_columns(table, replace(measured, columns={**measured.columns, name: attempt}), server,
                               settings, widen={name})[name]
        if redo.column.ddl_type in tried:
            continue
        tried.add(redo.column.ddl_type)
        redo.expected_conflicts = None
        if scan_conflicts(conn, table.name, key_source, redo, 1) is None:
            return redo
    return None


def scan_conflicts(conn, table: str, key_source: list[str], decision: Decision, limit: int,
                   types: ServerTypes | None = None) -> Conflict | None:
    """Find the values that do not fit (keys and excerpts of the first `limit`, and the count)."""
    col = decision.column
    c = qi(col.source)
    where = decision.prefilter.format(c=c)
    if types is not None and col.kind in types.kinds:
        col.refused = sorted(_refused_by_server(conn, table, col, types))
        if col.refused:
            decision.expected_conflicts, where = None, "1"
    if decision.expected_conflicts == 0:
        return None
    problem = row_sql.problem_sql(col)
    key_select = ", ".join(raw_sql(k) for k in key_source)
    sql = (f"SELECT {key_select}, {raw_sql(c)}, typeof({c}), {problem} FROM {qi(table)} "
           f"WHERE ({where}) AND {problem} IS NOT NULL")
    params = {"non_ascii": NON_ASCII_GLOB}
    count, examples = 0, []
    for row in conn.execute(sql, params):
        count += 1
        if len(examples) < limit:
            key = dict(zip(map(key_sql.key_name, key_source), map(row_transport.show_key, row[:len(key_source)])))
            raw, storage, why = row[len(key_source):]
            examples.append({"key": key, "value": _show(raw, storage), "problem": why})
    if not count:
        return None
    return Conflict(column=col.source, problem=examples[0]["problem"], count=count, examples=examples)


# Values worth asking the server about (it decides; these only narrow what is sent): UUIDs of
# 32 lowercase hex digits; for JSON every value that is not text, documents SQLite's
# json_valid refuses or that have escapes or enough brackets to nest 32 deep, where servers
# are known to differ, and text holding a NUL byte (SQLite's JSON functions stop there; the
# server reads the whole string).
_SERVER_CANDIDATES = {
    "uuid": "typeof({c}) = 'text' AND length({c}) = 32 AND {c} NOT GLOB '*[^0-9a-f]*'",
    "json": "typeof({c}) IN ('integer', 'real', 'blob') OR (typeof({c}) = 'text' AND (NOT json_valid({c}) "
            f"OR {HAS_NUL} OR instr({{c}}, char(92)) > 0 "
            "OR length({c}) - length(replace(replace({c}, '[', ''), '{{', '')) >= 32))",
}


UUID_CHUNK = 50_000


def _refused_by_server(conn, table: str, col, types: ServerTypes) -> set[str]:
    """The column's values that the server's type refuses, as MySQL would receive them."""
    c = qi(col.source)
    where = _SERVER_CANDIDATES[col.kind].format(c=c)
    if col.kind == "uuid":
        # Candidates are 32 lowercase hex digits: read as they are (DISTINCT then walks an index
        # on the column instead of sorting it: 0.44 s instead of 2 s for 330k UUIDs) and asked
        # about in chunks, so memory stays flat however long the table.
        cursor = conn.execute(f"SELECT DISTINCT {c} FROM {qi(table)} WHERE {where}")
        refused: set[str] = set()
        while chunk := cursor.fetchmany(UUID_CHUNK):
            refused |= types.refused("uuid", [sqlite_functions.convert("uuid", value) for (value,) in chunk])
        return refused
    candidates = set()
    for storage, raw in conn.execute(f"SELECT DISTINCT typeof({c}), {raw_sql(c)} FROM {qi(table)} WHERE {where}"):
        try:
            candidates.add(sqlite_functions.convert(col.kind, row_transport.value_of(storage, raw)))
        except (ValueError, UnicodeDecodeError):
            continue  # a conflict of its own (not UTF-8, not a UUID), never sent
    return types.refused(col.kind, sorted(candidates))


def _show(raw, storage: str) -> str:
    """A value as the operator recognizes it: text as text (bytes that are not UTF-8 escaped),
    a BLOB in hex, a number at its exact shortest form."""
    if raw is None:
        return "NULL"
    if storage == "blob":
        return "x'" + excerpt(raw) + "'"
    if storage == "real":  # all its digits (SQLite's own text keeps 15), infinities as SQLite spells them
        return repr(raw) if math.isfinite(raw) else ("Inf" if raw > 0 else "-Inf")
    if isinstance(raw, bytes):
        return excerpt(raw.decode("utf-8", "backslashreplace"))
    return excerpt(raw)


def _orphans(scan: SourceScan, plan: Plan, names: list[str]) -> None:
    """Rows whose parent is missing already in SQLite: carried over as they are, and reported."""
    selected = set(names)
    counts: dict[tuple[str, str], int] = {}
    for name in names:
        if name in scan.fk_check_errors:
            plan.warnings.append(f"{name}: foreign key check impossible ({scan.fk_check_errors[name]}); its "
                                 f"foreign keys are not enforced by SQLite either")
            continue
        for _table, _rowid, parent, _fkid in scan.orphans.get(name, []):
            counts[(name, parent)] = counts.get((name, parent), 0) + 1
    for (child, parent), count in sorted(counts.items()):
        plan.orphans.append({"table": child, "parent": parent, "rows": count})
        in_plan = parent in selected
        plan.warnings.append(
            f"{child}: {count} rows reference missing {parent} rows already in SQLite; they are copied as they "
            f"are and the constraint is created without re-checking them"
            + ("" if in_plan else f" ({parent} is not part of this migration)")
            + f". To clean up: delete or re-parent them (see PRAGMA foreign_key_check({child}))")
        try:
            table = plan.table(child)
        except KeyError:
            continue
        for fk in table.foreign_keys:
            if _source_of(fk.ref_table, {t.source: t.target for t in plan.tables}) == parent:
                fk.orphans = count


def _not_migrated(schema: SourceSchema, names: list[str], plan: Plan) -> None:
    for view in schema.views:
        plan.not_migrated.append({"kind": "view", "name": view.name, "sql": view.sql,
                                  "action": "created in MySQL after the copy when its SQL is portable; "
                                            "otherwise reported with its SQL"})
    for trigger in schema.triggers:
        plan.not_migrated.append({"kind": "trigger", "name": trigger.name, "table": trigger.table,
                                  "sql": trigger.sql,
                                  "action": "not migrated: SQLite trigger syntax differs; re-create it in "
                                            "MySQL (CREATE TRIGGER ... FOR EACH ROW) or move the logic "
                                            "into the application"})
    for vt in schema.virtual_tables:
        plan.not_migrated.append({"kind": "virtual table", "name": vt.name, "sql": vt.sql,
                                  "action": "not migrated: for full-text search add a FULLTEXT index on "
                                            "the source columns in MySQL; other modules need manual work"})
    for name in schema.shadow_tables:
        plan.not_migrated.append({"kind": "shadow table", "name": name, "sql": "",
                                  "action": "internal storage of a virtual table; not data of its own"})
    for name in schema.tables:
        if name not in names:
            plan.not_migrated.append({"kind": "table", "name": name, "sql": "",
                                      "action": "excluded by include_tables/exclude_tables"})
