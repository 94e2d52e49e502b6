"""Fixtures of the hardening tests: a Django-shop-like schema built by hand, unique accounts
that are dropped afterwards, and Airflow connections given as AIRFLOW_CONN_* variables."""
from __future__ import annotations

import json
import uuid

import pytest

pytestmark = pytest.mark.integration

# The demo shop's tables as Django creates them on MySQL (InnoDB, foreign keys, unique keys).
SHOP_SCHEMA = [
    """CREATE TABLE auth_user (id int AUTO_INCREMENT PRIMARY KEY, username varchar(150) NOT NULL UNIQUE,
       email varchar(254) NOT NULL, is_active bool NOT NULL, date_joined datetime(6) NOT NULL,
       last_login datetime(6) NULL)""",
    """CREATE TABLE shop_category (id bigint AUTO_INCREMENT PRIMARY KEY, name varchar(100) NOT NULL,
       slug varchar(120) NOT NULL UNIQUE, description longtext NOT NULL)""",
    """CREATE TABLE shop_product (id bigint AUTO_INCREMENT PRIMARY KEY, name varchar(200) NOT NULL,
       slug varchar(220) NOT NULL UNIQUE, category_id bigint NOT NULL, seller_id int NOT NULL,
       price decimal(10,2) NOT NULL, attributes json NOT NULL, is_active bool NOT NULL,
       created_at datetime(6) NOT NULL, KEY shop_product_created_at (created_at),
       CONSTRAINT shop_product_category_fk FOREIGN KEY (category_id) REFERENCES shop_category (id),
       CONSTRAINT shop_product_seller_fk FOREIGN KEY (seller_id) REFERENCES auth_user (id))""",
    """CREATE TABLE shop_order (id bigint AUTO_INCREMENT PRIMARY KEY, number char(32) NOT NULL UNIQUE,
       user_id int NOT NULL, status varchar(20) NOT NULL, total decimal(12,2) NOT NULL, note longtext NOT NULL,
       created_at datetime(6) NOT NULL, updated_at datetime(6) NOT NULL, shipped_at datetime(6) NULL,
       KEY shop_order_status_created (status, created_at),
       CONSTRAINT shop_order_user_fk FOREIGN KEY (user_id) REFERENCES auth_user (id))""",
    """CREATE TABLE shop_orderitem (id bigint AUTO_INCREMENT PRIMARY KEY, order_id bigint NOT NULL,
       product_id bigint NOT NULL, quantity int unsigned NOT NULL, unit_price decimal(10,2) NOT NULL,
       CONSTRAINT shop_orderitem_order_fk FOREIGN KEY (order_id) REFERENCES shop_order (id),
       CONSTRAINT shop_orderitem_product_fk FOREIGN KEY (product_id) REFERENCES shop_product (id))""",
    """CREATE TABLE shop_review (id bigint AUTO_INCREMENT PRIMARY KEY, product_id bigint NOT NULL,
       user_id int NOT NULL, rating smallint unsigned NOT NULL, title varchar(200) NOT NULL,
       body longtext NOT NULL, is_verified bool NOT NULL, created_at datetime(6) NOT NULL,
       UNIQUE KEY shop_review_one_per_user (product_id, user_id),
       CONSTRAINT shop_review_product_fk FOREIGN KEY (product_id) REFERENCES shop_product (id),
       CONSTRAINT shop_review_user_fk FOREIGN KEY (user_id) REFERENCES auth_user (id))""",
    """CREATE TABLE django_admin_log (id int AUTO_INCREMENT PRIMARY KEY, action_time datetime(6) NOT NULL,
       object_id longtext NULL, user_id int NOT NULL,
       CONSTRAINT django_admin_log_user_fk FOREIGN KEY (user_id) REFERENCES auth_user (id))""",
]

def build(conn, statements) -> None:
    cur = conn.cursor()
    for statement in statements:
        cur.execute(statement)
    conn.commit()

@pytest.fixture
def build_schema():
    return build


@pytest.fixture
def shop_db(mysql_connect, new_database):
    """A database with the shop schema and a few rows; returns (name, root connection)."""
    name = new_database("hshop")
    admin = mysql_connect()
    admin.cursor().execute(f"CREATE DATABASE `{name}`")
    conn = mysql_connect(name, autocommit=True)
    build(conn, SHOP_SCHEMA)
    build(conn, [
        "INSERT INTO auth_user VALUES (1, 'ann', 'ann@example.com', 1, '2023-05-01', NULL)",
        "INSERT INTO shop_order (number, user_id, status, total, note, created_at, updated_at) VALUES "
        "('a1', 1, 'paid', 10, '', '2023-02-03', '2023-02-03'), ('a2', 1, 'paid', 12, '', '2025-07-01', '2025-07-01')",
    ])
    return name, conn

@pytest.fixture
def accounts(mysql_connect):
    """Factory of unique account names on the shared server; every one is dropped afterwards."""
    made = []

    def make(prefix: str = "hu") -> str:
        user = f"{prefix}_{uuid.uuid4().hex[:8]}"
        made.append(user)
        return user

    yield make
    cur = mysql_connect().cursor()
    for user in made:
        cur.execute("DROP USER IF EXISTS %s@'%%'", (user,))

def conn_uri(*, login: str = "root", password: str = "", host: str = "127.0.0.1", port: int = 3306,
             schema: str = "", extra: dict | None = None) -> str:
    """An Airflow connection as the JSON form of AIRFLOW_CONN_* (no URL-escaping pitfalls)."""
    return json.dumps({"conn_type": "mysql", "login": login, "password": password, "host": host,
                       "port": port, "schema": schema, "extra": extra or {}})
