"""Copy order from foreign keys, with cycles broken and reported."""
from hypothesis import given, strategies as st

from sqlite_to_mysql.fk_order import order_tables


def test_parents_before_children_and_self_reference():
    o = order_tables(["item", "order", "user"], [("item", "order"), ("order", "user"), ("user", "user")])
    assert o.order == ["user", "order", "item"]
    assert o.self_references == ["user"]
    assert o.deferred == []


def test_sakila_cycle_is_broken_once():
    tables = ["store", "staff", "address"]
    edges = [("store", "staff"), ("staff", "store"), ("store", "address"), ("staff", "address")]
    o = order_tables(tables, edges)
    assert len(o.deferred) == 1
    child, parent = o.deferred[0]
    assert o.order.index(child) < o.order.index(parent)  # the deferred edge is the one not honoured
    assert o.order[0] == "address"


@given(st.integers(min_value=1, max_value=12).flatmap(
    lambda n: st.tuples(st.just(n), st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=40))))
def test_every_kept_edge_is_honoured_and_only_cycle_edges_are_deferred(case):
    n, pairs = case
    tables = [f"t{i}" for i in range(n)]
    edges = [(f"t{a}", f"t{b}") for a, b in pairs]
    o = order_tables(tables, edges)
    assert sorted(o.order) == sorted(tables)
    position = {t: i for i, t in enumerate(o.order)}
    deferred = set(o.deferred)
    for child, parent in edges:
        if child == parent or (child, parent) in deferred:
            continue
        assert position[parent] < position[child]
    for child, parent in deferred:  # a deferred edge must close a cycle: parent reaches child
        reach, stack = set(), [parent]
        while stack:
            node = stack.pop()
            for c, p in edges:
                if c == node and p not in reach:
                    reach.add(p)
                    stack.append(p)
        assert child in reach
