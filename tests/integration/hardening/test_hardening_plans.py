"""Index and partition plans against real schemas: the Django shop (most of the design does not
fit it) and a schema with the design's own table names (where it does)."""
from __future__ import annotations

from datetime import date

import pytest
import yaml

from mysql_hardening import index_plan, partition_plan, schema

pytestmark = pytest.mark.integration

TODAY = date(2026, 3, 15)

DESIGN_SCHEMA = [
    """CREATE TABLE products_product (id bigint AUTO_INCREMENT PRIMARY KEY, name varchar(200) NOT NULL,
       description text NOT NULL, category_id bigint NOT NULL, seller_id int NOT NULL,
       price decimal(10,2) NOT NULL, is_active bool NOT NULL, created_at datetime NOT NULL)""",
    # Partition-ready: the primary key contains created_at, no foreign keys, no other unique key.
    """CREATE TABLE orders_order (id bigint NOT NULL AUTO_INCREMENT, user_id int NOT NULL,
       seller_id int NOT NULL, status varchar(20) NOT NULL, created_at datetime NOT NULL,
       PRIMARY KEY (id, created_at))""",
    "INSERT INTO orders_order (user_id, seller_id, status, created_at) VALUES "
    "(1, 1, 'paid', '2022-06-01'), (2, 1, 'paid', '2024-01-01'), (3, 2, 'new', '2026-03-01')",
    # TIMESTAMP: only UNIX_TIMESTAMP() partitioning is allowed.
    """CREATE TABLE admin_activity_logs (id bigint NOT NULL AUTO_INCREMENT, `timestamp` timestamp NOT NULL,
       PRIMARY KEY (id, `timestamp`))""",
]


def decisions_by_name(decisions):
    return {d.name: d for d in decisions}


def test_index_plan_on_the_django_shop(shop_db):
    database, conn = shop_db
    cur = conn.cursor()
    plan = decisions_by_name(index_plan.plan(cur, database))
    assert plan["idx_users_email"].action == "create"
    assert plan["idx_orders_status"].action == "skip"
    assert "shop_order_status_created" in plan["idx_orders_status"].reason  # same leading columns
    assert plan["idx_orders_seller"].action == "skip" and "seller_id" in plan["idx_orders_seller"].reason
    assert plan["idx_products_search"].action == "skip"  # shop_product has no description
    assert plan["idx_products_fulltext"].action == "skip"
    assert plan["idx_reviews_rating"].action == "create"
    assert plan["idx_orders_user_date"].action == "create"
    # Every decision carries its reason.
    assert all(d.reason for d in plan.values())

    report = index_plan.analyze(cur, index_plan.apply(cur, list(plan.values())))
    assert any("shop_order" in line and "OK" in line for line in report)
    cur.execute("SELECT DISTINCT INDEX_NAME FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = %s",
                (database,))
    present = {row[0] for row in cur.fetchall()}
    created = {n for n, d in plan.items() if d.action == "create"}
    assert created <= present
    assert not {n for n, d in plan.items() if d.action == "skip"} & present

    again = decisions_by_name(index_plan.plan(cur, database))
    assert {n for n, d in again.items() if d.action == "exists"} == created
    assert not [d for d in again.values() if d.action == "create"]


def test_index_plan_with_the_design_names_adds_fulltext(mysql_connect, new_database, build_schema):
    database = new_database("hdesign")
    mysql_connect().cursor().execute(f"CREATE DATABASE `{database}`")
    conn = mysql_connect(database, autocommit=True)
    build_schema(conn, DESIGN_SCHEMA)
    cur = conn.cursor()
    plan = decisions_by_name(index_plan.plan(cur, database))
    assert plan["idx_products_fulltext"].action == "create"
    assert "B-tree key over description (text)" in plan["idx_products_search"].reason
    assert plan["idx_users_email"].action == "skip" and "auth_user" in plan["idx_users_email"].reason
    index_plan.apply(cur, list(plan.values()))
    cur.execute("SELECT id FROM products_product WHERE MATCH(name, description) AGAINST ('x')")
    tables = schema.load(cur, database)
    assert tables["products_product"].indexes["idx_products_fulltext"].kind == "FULLTEXT"


def test_partition_plan_refuses_the_django_shop_and_says_what_would_allow_it(shop_db):
    database, conn = shop_db
    cur = conn.cursor()
    orders, logs = partition_plan.plan(cur, database, TODAY)
    assert orders.table == "shop_order" and orders.action == "skip"
    text = " ".join(orders.reasons)
    assert "PRIMARY KEY (id) does not contain created_at" in text
    assert "UNIQUE number" in text
    assert "referenced by foreign keys" in text and "shop_orderitem" in text
    assert "has foreign keys" in text
    assert "make the primary key (id, created_at)" in orders.fixes
    assert logs.table == "django_admin_log" and logs.column == "action_time" and logs.action == "skip"
    cur.execute(f"SELECT COUNT(*) FROM information_schema.PARTITIONS WHERE TABLE_SCHEMA = %s "
                "AND PARTITION_NAME IS NOT NULL", (database,))
    assert cur.fetchone()[0] == 0


def test_partition_plan_partitions_where_valid(mysql_connect, new_database, build_schema):
    database = new_database("hdesign")
    mysql_connect().cursor().execute(f"CREATE DATABASE `{database}`")
    conn = mysql_connect(database, autocommit=True)
    build_schema(conn, DESIGN_SCHEMA)
    cur = conn.cursor()
    orders, logs = partition_plan.plan(cur, database, TODAY)
    assert orders.action == "partition"
    assert logs.action == "skip" and "timestamp is timestamp" in logs.reasons[0]
    done = partition_plan.apply(cur, [orders, logs])
    assert done == ["orders_order"]
    cur.execute("SELECT PARTITION_NAME, TABLE_ROWS FROM information_schema.PARTITIONS "
                "WHERE TABLE_SCHEMA = %s AND TABLE_NAME = 'orders_order' ORDER BY PARTITION_ORDINAL_POSITION",
                (database,))
    names = [row[0] for row in cur.fetchall()]
    # From the data's first year (2022) to one year after the current one, then the catch-all.
    assert names == ["p2022", "p2023", "p2024", "p2025", "p2026", "p2027", "p_future"]
    cur.execute("SELECT COUNT(*) FROM orders_order")
    assert cur.fetchone()[0] == 3
    cur.execute("SELECT COUNT(*) FROM orders_order PARTITION (p2024)")
    assert cur.fetchone()[0] == 1
    again = partition_plan.plan(cur, database, TODAY)[0]
    assert again.action == "exists"


def test_plans_quote_hostile_names(mysql_connect, new_database, tmp_path, build_schema):
    """Table and column names with backticks, quotes, semicolons and keywords are only used quoted."""
    database = new_database("hhostile")
    mysql_connect().cursor().execute(f"CREATE DATABASE `{database}`")
    conn = mysql_connect(database, autocommit=True)
    table, column = "ord`ers; DROP TABLE x;--", "created`at'\""
    qt, qc = "`" + table.replace("`", "``") + "`", "`" + column.replace("`", "``") + "`"
    build_schema(conn, [f"CREATE TABLE {qt} (id int NOT NULL, `select` int, {qc} datetime NOT NULL, "
                 f"PRIMARY KEY (id, {qc}))",
                 f"INSERT INTO {qt} VALUES (1, 1, '2025-01-01')",
                 "CREATE TABLE x (i int)"])
    plans = tmp_path / "plans"
    plans.mkdir()
    (plans / "index.yaml").write_text(yaml.safe_dump({"indexes": [
        {"name": "idx`sel; DROP", "table": table, "columns": ["select", column]}]}))
    (plans / "partition.yaml").write_text(yaml.safe_dump({"partitions": [
        {"table": table, "columns": [column], "by": "month", "ahead": 0}]}))
    cur = conn.cursor()
    decisions = index_plan.plan(cur, database, plans / "index.yaml")
    assert decisions[0].action == "create"
    index_plan.apply(cur, decisions)
    parts = partition_plan.plan(cur, database, TODAY, plans / "partition.yaml")
    assert parts[0].action == "partition"
    partition_plan.apply(cur, parts)
    tables = schema.load(cur, database)
    assert set(tables) == {table, "x"}  # nothing dropped
    assert "idx`sel; DROP" in tables[table].indexes
    assert tables[table].partition_expression.startswith("RANGE")
