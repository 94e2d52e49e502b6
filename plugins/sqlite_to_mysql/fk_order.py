"""Copy order from the foreign-key graph: parents before children.

Self-references and cycles (Sakila's store <-> staff) cannot be ordered; the edges that
close a cycle are deferred: the copy ignores them for ordering, and their constraints are
added after all data is in, like every other constraint.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Ordering:
    order: list[str]  # every table, parents first
    depends_on: dict[str, list[str]]  # table -> parents it waits for (deferred edges removed)
    deferred: list[tuple[str, str]]  # (child, parent) edges that closed a cycle
    self_references: list[str]


def order_tables(tables: list[str], edges: list[tuple[str, str]]) -> Ordering:
    """edges are (child, parent) pairs; unknown parents are ignored (reported elsewhere)."""
    known = set(tables)
    self_refs = sorted({c for c, p in edges if c == p and c in known})
    graph: dict[str, set[str]] = {t: set() for t in tables}
    for child, parent in edges:
        if child != parent and child in known and parent in known:
            graph[child].add(parent)
    deferred = []
    for component in _strongly_connected(graph):
        if len(component) > 1:
            deferred += _break_cycle(sorted(component), graph)
    order = _topological(tables, graph)
    return Ordering(order, {t: sorted(graph[t]) for t in tables}, sorted(deferred), self_refs)


def _strongly_connected(graph: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's algorithm, iterative (deep FK chains must not hit the recursion limit)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    result = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                result.append(component)
    return result


def _break_cycle(members: list[str], graph: dict[str, set[str]]) -> list[tuple[str, str]]:
    """Within one cycle, keep edges that follow a fixed order and defer the rest.

    The order prefers tables with fewer parents inside the cycle, so the fewest and most
    'back-pointing' edges get deferred; ties break by name to stay deterministic."""
    inside = set(members)
    rank = sorted(members, key=lambda t: (len(graph[t] & inside), t))
    position = {t: i for i, t in enumerate(rank)}
    deferred = []
    for child in members:
        for parent in sorted(graph[child] & inside):
            if position[parent] > position[child]:
                graph[child].discard(parent)
                deferred.append((child, parent))
    return deferred


def _topological(tables: list[str], graph: dict[str, set[str]]) -> list[str]:
    remaining = {t: set(graph[t]) for t in tables}
    order = []
    while remaining:
        ready = sorted(t for t, parents in remaining.items() if not parents)
        if not ready:  # unreachable after cycle breaking; kept as a guard against bugs
            raise AssertionError(f"cycle left in FK graph: {sorted(remaining)}")
        for t in ready:
            order.append(t)
            del remaining[t]
        for parents in remaining.values():
            parents.difference_update(ready)
    return order
