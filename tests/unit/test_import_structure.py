"""The architecture the tree shows holds in the imports: no import cycle among plugins/'
modules (lazy imports inside functions count too: they are cycles all the same), and no
module takes a private (_underscore) name from another package.

Read with ast, nothing is imported, so the test cannot be fooled by import order.
"""
from __future__ import annotations

import ast
from pathlib import Path

from tests.support.paths import ROOT

PLUGINS = ROOT / "plugins"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PLUGINS).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_module_name(p): p for p in PLUGINS.rglob("*.py") if "__pycache__" not in p.parts}


def _package(module: str) -> str:
    path = MODULES[module]
    name = _module_name(path)
    return name if path.name == "__init__.py" else name.rpartition(".")[0]


def _resolve(module: str, level: int, target: str | None) -> str:
    if not level:
        return target or ""
    base = _package(module).split(".")
    base = base[:len(base) - (level - 1)] if level > 1 else base
    return ".".join([*base, target] if target else base)


def _imports(module: str):
    """(imported module, name taken from it or None) for every import of a plugins module."""
    tree = ast.parse(MODULES[module].read_text(), filename=str(MODULES[module]))
    aliases: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in MODULES:
                    aliases[alias.asname or alias.name.split(".")[0]] = alias.name
                    yield alias.name, None
        elif isinstance(node, ast.ImportFrom):
            source = _resolve(module, node.level, node.module)
            for alias in node.names:
                submodule = f"{source}.{alias.name}"
                if submodule in MODULES:  # `from package import module`
                    aliases[alias.asname or alias.name] = submodule
                    yield submodule, None
                elif source in MODULES:
                    yield source, alias.name
    for node in ast.walk(tree):  # module._name, for a plugins module imported above
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases:
            yield aliases[node.value.id], node.attr


def _graph() -> dict[str, set[str]]:
    return {m: {target for target, _ in _imports(m) if target != m} for m in MODULES}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_checks_can_fail():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _resolve("sqlite_to_mysql.copy", 1, "plan") == "sqlite_to_mysql.plan"
    assert len(MODULES) > 100 and "sqlite_to_mysql.plan" in MODULES


def test_no_import_cycle_among_plugins_modules():
    assert _cycles(_graph()) == []


def test_no_module_takes_private_names_from_another_package():
    taken = sorted(f"{module} takes {target}.{name}" for module in MODULES for target, name in _imports(module)
                   if name and name.startswith("_") and not name.startswith("__")
                   and _package(target) != _package(module))
    assert taken == []


def test_the_migration_never_imports_the_cutover():
    """The cutover builds on the migration, never the other way round."""
    cutover = "sqlite_to_mysql.cutover"
    migration = [m for m in MODULES if m.startswith("sqlite_to_mysql") and not m.startswith(cutover)]
    taken = sorted(f"{m} imports {target}" for m in migration for target, _ in _imports(m)
                   if target.startswith(cutover))
    assert taken == []


def test_plugins_operators_holds_operators_only():
    """Task bodies live in task_callables/, DAG building blocks in dag_building/."""
    for module in (m for m in MODULES if m.startswith("operators.")):
        tree = ast.parse(MODULES[module].read_text())
        classes = [n.name for n in tree.body if isinstance(n, ast.ClassDef)]
        assert any(name.endswith("Operator") for name in classes), f"{module} defines no operator"
