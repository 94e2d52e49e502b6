"""Generate the demo shop's SQLite database at a chosen scale, reproducibly.

    python include/demo_shop/generate.py --scale 1 --seed 42 --out /tmp/shop.sqlite3

The schema comes from Django's own migrations (`manage.py migrate`, run in a subprocess);
the rows are then written with plain sqlite3 executemany, because the ORM would need
minutes for a million rows. Every value is encoded by sqlite_format so it is stored exactly
as an ORM save would store it. --scale 1 is about a million rows.

Each table draws from its own random stream (seeded from seed + table name), so the same
seed gives the same rows, and tuning one table never reshuffles another.
"""
from __future__ import annotations

import argparse
import base64
import bisect
import datetime as dt
import hashlib
import json
import os
import random
import re
import sqlite3
import subprocess
import sys
import time
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import fake_data as fd  # noqa: E402
import shopconf  # noqa: E402
from sqlite_format import (  # noqa: E402
    datetime_micros,
    datetime_text,
    decimal_text,
    json_text,
    session_encoder,
    uuid4_hex,
)

SECOND = 1_000_000
DAY = 86_400 * SECOND
# The shop opened on START; "now" for the data is fixed so reruns give the same bytes.
START = datetime_micros(dt.datetime(2021, 1, 4, 9, 0, 0))
NOW = datetime_micros(dt.datetime(2025, 6, 30, 12, 0, 0))
SESSION_AGE = 14 * DAY  # Django's SESSION_COOKIE_AGE

# Rows at scale 1 (about 1.0M in total with the many-to-many and item rows).
BASE = {"users": 20_000, "products": 20_000, "orders": 166_000, "reviews": 124_000,
        "sessions": 80_000, "admin_log": 4_000, "categories": 150, "tags": 300}
MINIMUM = {"users": 40, "products": 60, "orders": 100, "reviews": 80, "sessions": 40,
           "admin_log": 10, "categories": 16, "tags": 24}

# Known logins, so checks can prove password hashes survived. Low PBKDF2 iteration count keeps
# generation fast; Django accepts any count (and would upgrade it on the next login).
KNOWN_PASSWORDS = {"admin": "admin-demo-password", "Anna": "anna-demo-password"}
PBKDF2_ITERATIONS = 1_000


@dataclass
class Shop:
    """What later tables need to know about earlier ones."""

    conn: sqlite3.Connection | None
    seed: int
    scale: float
    user_joined: list[int] = field(default_factory=list)  # index = user id - 1
    doomed_users: set[int] = field(default_factory=set)
    sellers: list[int] = field(default_factory=list)
    staff: list[int] = field(default_factory=list)
    category_ids: list[int] = field(default_factory=list)
    tag_count: int = 0
    product_created: list[int] = field(default_factory=list)
    product_price: list[int] = field(default_factory=list)  # cents
    product_name: list[str] = field(default_factory=list)
    doomed_products: set[int] = field(default_factory=set)
    content_types: dict[str, int] = field(default_factory=dict)
    deletions: dict[str, list[int]] = field(default_factory=dict)

    def rng(self, table: str) -> random.Random:
        return random.Random(f"{self.seed}/{table}")

    def count(self, what: str) -> int:
        return max(MINIMUM[what], round(BASE[what] * self.scale))


# ---------------------------------------------------------------- small helpers

def slugify(text: str) -> str:
    """django.utils.text.slugify without the Django import."""
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"[^\w\s-]", "", text.lower())
    return re.sub(r"[-\s]+", "-", text).strip("-_")


def ascii_word(text: str) -> str:
    return slugify(text).replace("-", "")


def sorted_times(rng: random.Random, n: int, lo: int, hi: int) -> list[int]:
    """n increasing instants in [lo, hi): rows get ids in the order they were created."""
    return sorted(rng.randrange(lo, hi) for _ in range(n))


def on_the_second(micros: int) -> int:
    return micros - micros % SECOND


def alnum(rng: random.Random, n: int, alphabet: str = "abcdefghijklmnopqrstuvwxyz"
          "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") -> str:
    return "".join(rng.choices(alphabet, k=n))


def picker(values, weights):
    """Fast weighted choice: returns f(rng) -> value."""
    cumulative, total = [], 0.0
    for w in weights:
        total += w
        cumulative.append(total)

    def pick(rng: random.Random):
        return values[bisect.bisect_right(cumulative, rng.random() * total)]

    return pick


def insert(conn: sqlite3.Connection, table: str, columns: tuple[str, ...], rows) -> None:
    cols = ", ".join(f'"{c}"' for c in columns)
    marks = ", ".join("?" * len(columns))
    conn.executemany(f'INSERT INTO "{table}" ({cols}) VALUES ({marks})', rows)


def password_hash(rng: random.Random, username: str) -> str:
    if username in KNOWN_PASSWORDS:
        salt = alnum(rng, 22)
        digest = hashlib.pbkdf2_hmac("sha256", KNOWN_PASSWORDS[username].encode(), salt.encode(),
                                     PBKDF2_ITERATIONS)
        return f"pbkdf2_sha256${PBKDF2_ITERATIONS}${salt}${base64.b64encode(digest).decode()}"
    if rng.random() < 0.03:  # set_unusable_password(): social logins, imported accounts
        return "!" + alnum(rng, 40)
    fake = base64.b64encode(rng.randbytes(32)).decode()
    return f"pbkdf2_sha256$1000000${alnum(rng, 22)}${fake}"


# ---------------------------------------------------------------- schema

def create_schema(path: Path) -> None:
    """Run Django's migrations against a new SQLite file (in a subprocess: no Django state here)."""
    env = {**os.environ, "SHOP_DATABASE_URL": f"sqlite:///{path}",
           "DJANGO_SETTINGS_MODULE": "shopsite.settings"}
    subprocess.run([sys.executable, str(HERE / "manage.py"), "migrate", "--noinput", "-v", "0"],
                   cwd=HERE, env=env, check=True)


# ---------------------------------------------------------------- tables

def fill_users(shop: Shop) -> None:
    rng = shop.rng("auth_user")
    n = shop.count("users")
    joined = sorted_times(rng, n, START, NOW - DAY)
    joined[0] = on_the_second(START)  # createsuperuser on day one
    rows = []
    for uid in range(1, n + 1):
        t = joined[uid - 1]
        doomed = False
        if uid == 1:
            username, first, last, staff = "admin", "", "", True
        elif uid - 2 < len(fd.COLLIDING_USERS):
            username, first, last = fd.COLLIDING_USERS[uid - 2]
            staff = False
        else:
            first, last = rng.choice(fd.FIRST_NAMES), rng.choice(fd.LAST_NAMES)
            # Spam sign-ups, removed later: they leave id gaps, and the highest id is one of them.
            doomed = uid in (n, n // 2) or rng.random() < 0.01
            if doomed:
                username = f"promo_{alnum(rng, 8, 'abcdefghijklmnopqrstuvwxyz0123456789')}{uid}"
            else:
                username = f"{ascii_word(first)}.{ascii_word(last)}{uid}"
                if rng.random() < 0.02:  # people do type capitals in usernames
                    username = username.capitalize()
            staff = rng.random() < 0.01
            if rng.random() < 0.05:
                first, last = (first, "") if rng.random() < 0.5 else ("", "")
        email = "" if rng.random() < 0.02 else (
            f"{ascii_word(first) or 'user'}.{ascii_word(last) or uid}{uid}@{rng.choice(fd.EMAIL_DOMAINS)}")
        last_login = None if rng.random() < 0.15 else datetime_text(rng.randrange(t, NOW))
        active = not doomed and rng.random() > 0.02
        rows.append((uid, password_hash(rng, username), last_login, int(uid == 1), username, last,
                     email, int(staff), int(active), datetime_text(t), first))
        shop.user_joined.append(t)
        if doomed:
            shop.doomed_users.add(uid)
        elif staff:
            shop.staff.append(uid)
        if not doomed and (uid == 1 or rng.random() < 0.04):
            shop.sellers.append(uid)
    insert(shop.conn, "auth_user", ("id", "password", "last_login", "is_superuser", "username",
                                    "last_name", "email", "is_staff", "is_active", "date_joined",
                                    "first_name"), rows)
    shop.deletions["auth_user"] = sorted(shop.doomed_users)


def fill_groups(shop: Shop) -> None:
    rng = shop.rng("auth_group")
    groups = ("Customer service", "Warehouse", "Editors", "Finance")
    insert(shop.conn, "auth_group", ("id", "name"), list(enumerate(groups, 1)))
    perms = [r[0] for r in shop.conn.execute(
        "SELECT p.id FROM auth_permission p JOIN django_content_type c ON c.id = p.content_type_id "
        "WHERE c.app_label = 'shop' ORDER BY p.id")]
    group_perms = [(gid, pid) for gid in range(1, len(groups) + 1)
                   for pid in sorted(rng.sample(perms, min(len(perms), 3 + 2 * gid)))]
    insert(shop.conn, "auth_group_permissions", ("group_id", "permission_id"), group_perms)
    insert(shop.conn, "auth_user_groups", ("user_id", "group_id"),
           [(uid, gid) for uid in shop.staff
            for gid in sorted(rng.sample(range(1, len(groups) + 1), rng.randint(1, 2)))])
    insert(shop.conn, "auth_user_user_permissions", ("user_id", "permission_id"),
           [(uid, rng.choice(perms)) for uid in shop.staff[: max(1, len(shop.staff) // 4)]])


def fill_categories(shop: Shop) -> None:
    rng = shop.rng("shop_category")
    n = shop.count("categories")
    rows = []
    for cid in range(1, n + 1):
        if cid <= len(fd.CATEGORY_ROOTS):
            name, parent = fd.CATEGORY_ROOTS[cid - 1], None
        else:
            parent = rng.randrange(1, cid)  # any earlier category: trees three or four levels deep
            name = f"{rng.choice(fd.CATEGORY_CHILDREN)} {rng.choice(fd.NOUNS)}s"
        description = "" if rng.random() < 0.6 else f"All about {name.lower()}.\nCurated weekly."
        rows.append((cid, name, f"{slugify(name)}-{cid}", description, parent))
        shop.category_ids.append(cid)
    insert(shop.conn, "shop_category", ("id", "name", "slug", "description", "parent_id"), rows)


def fill_tags(shop: Shop) -> None:
    rng = shop.rng("shop_tag")
    n = shop.count("tags")
    names = list(fd.COLLIDING_TAGS) + list(fd.TAG_WORDS)
    seen = set(names)
    while len(names) < n:
        name = f"{rng.choice(fd.TAG_WORDS)}-{rng.choice(fd.ADJECTIVES).lower()}-{rng.choice(fd.COLORS)}"
        if name not in seen:
            seen.add(name)
            names.append(name)
    insert(shop.conn, "shop_tag", ("id", "name"), list(enumerate(names[:n], 1)))
    shop.tag_count = n


SPECIAL_PRICES = ("19.99", "0.10", "1234.50", "20.00", "0.01", "99999999.99", "0.99", "1000000.00")


def product_price(rng: random.Random) -> int:
    r = rng.random()
    euros = int(rng.lognormvariate(3.2, 1.1)) + 1
    if r < 0.55:
        return euros * 100 - 1  # 19.99
    if r < 0.70:
        return euros * 100  # whole amount: SQLite stores INTEGER
    if r < 0.80:
        return euros * 100 + rng.choice((10, 50, 90))  # 12.10, 12.50: REAL 12.1, 12.5
    return euros * 100 + rng.randrange(100)


def product_attributes(rng: random.Random) -> dict:
    r = rng.random()
    if r < 0.03:
        return {}
    attrs: dict = {"color": rng.choice(fd.COLORS)}
    if rng.random() < 0.7:
        attrs["dims"] = {"w": round(rng.uniform(1, 200), 1), "h": rng.randint(1, 120),
                         "d": round(rng.uniform(0.1, 50), 2), "unit": "cm"}
    if rng.random() < 0.5:
        attrs["material"] = rng.choice(fd.MATERIALS)
    if rng.random() < 0.3:
        attrs["sizes"] = sorted(rng.sample(fd.SIZES, rng.randint(1, 4)), key=fd.SIZES.index)
    if rng.random() < 0.2:
        attrs["warranty_years"] = None if rng.random() < 0.5 else rng.randint(1, 5)
    if rng.random() < 0.1:
        attrs["origin"] = rng.choice(fd.ORIGINS)
    if rng.random() < 0.05:
        attrs["variants"] = [{"sku": alnum(rng, 8), "stock": rng.randint(0, 500),
                              "tags": [rng.choice(fd.TAG_WORDS)]} for _ in range(rng.randint(1, 3))]
    if r > 0.995:
        attrs["label"] = rng.choice(fd.ODD_PRODUCT_NAMES)
    if r > 0.999:
        attrs["ean"] = 9007199254740993  # above 2**53: exact as an integer, not as a double
        attrs["ratio"] = 1e-07
    return attrs


SPECIAL_ATTRIBUTES = (
    {"color": "red", "dims": {"w": 120.5, "h": 80, "d": 0.1, "unit": "cm"},
     "label": "Crème brûlée 😀", "sizes": ["S", "M"], "warranty_years": None,
     "nested": {"a": [1, 2.5, None, True, False, {"b": "ü"}], "empty": {}, "list": []}},
    {"color": "red", "ean": 9007199254740993, "ratio": 1e-07, "neg": -0.0, "big": 1.7976931348623157e308},
    {},
    {"quote": "she said \"hi\"", "backslash": "C:\\Temp", "newline": "a\nb", "nul": "\u0000"},
)


def thumbnail(rng: random.Random) -> bytes | None:
    r = rng.random()
    if r < 0.33:
        return None
    if r < 0.35:
        return b""  # an emptied upload: empty BLOB, not NULL
    return b"\x89PNG\r\n\x1a\n" + rng.randbytes(rng.randint(64, 1500))


SPECIAL_THUMBNAILS = (
    bytes(range(256)),
    b"\x00\x09\x0a\x5c\x27\x22\x0d\x1a" * 16,  # NUL, tab, LF, backslash, quotes, CR, ^Z
    b"",
    b"\x00",
)


def fill_products(shop: Shop) -> None:
    rng = shop.rng("shop_product")
    n = shop.count("products")
    created = sorted_times(rng, n, START + 7 * DAY, NOW - DAY)
    joined = shop.user_joined
    seller_joined = [joined[s - 1] for s in shop.sellers]
    rows = []
    for pid in range(1, n + 1):
        t = created[pid - 1]
        k = bisect.bisect_right(seller_joined, t) or 1
        seller = shop.sellers[rng.randrange(k)]
        special = pid - 1 < len(SPECIAL_PRICES)
        if special:
            cents = int(SPECIAL_PRICES[pid - 1].replace(".", ""))
            name = fd.ODD_PRODUCT_NAMES[pid - 1]
        else:
            cents = product_price(rng)
            name = (rng.choice(fd.ODD_PRODUCT_NAMES) if rng.random() < 0.005
                    else f"{rng.choice(fd.ADJECTIVES)} {rng.choice(fd.COLORS)} {rng.choice(fd.NOUNS)}")
        attrs = (SPECIAL_ATTRIBUTES[pid - 1] if pid - 1 < len(SPECIAL_ATTRIBUTES)
                 else product_attributes(rng))
        thumb = SPECIAL_THUMBNAILS[pid - 1] if pid - 1 < len(SPECIAL_THUMBNAILS) else thumbnail(rng)
        if rng.random() < 0.02:
            t = on_the_second(t)  # entered through the admin's date/time widgets
        rows.append((pid, name, f"{slugify(name) or 'product'}-{pid}", decimal_text(cents),
                     json_text(attrs), thumb, int(rng.random() > 0.08), datetime_text(t),
                     rng.choice(shop.category_ids), seller))
        shop.product_created.append(created[pid - 1])  # sorted, for bisect
        shop.product_price.append(cents)
        shop.product_name.append(name)
        # Discontinued test listings, deleted later (never ordered, reviewed or tagged).
        if not special and (pid in (n, n // 2) or rng.random() < 0.005):
            shop.doomed_products.add(pid)
    insert(shop.conn, "shop_product", ("id", "name", "slug", "price", "attributes", "thumbnail",
                                       "is_active", "created_at", "category_id", "seller_id"), rows)
    shop.deletions["shop_product"] = sorted(shop.doomed_products)
    fill_product_tags(shop)


def fill_product_tags(shop: Shop) -> None:
    rng = shop.rng("shop_product_tags")
    tag_pick = picker(range(1, shop.tag_count + 1), [1 / (i + 3) for i in range(shop.tag_count)])
    count_pick = picker((0, 1, 2, 3, 4, 5, 6), (8, 12, 20, 25, 18, 10, 7))
    rows, doomed = [], []
    for pid in range(1, len(shop.product_created) + 1):
        if pid in shop.doomed_products:
            continue
        tags: set[int] = set()
        want = count_pick(rng)
        while len(tags) < want:
            tags.add(tag_pick(rng))
        for tag in sorted(tags):
            rows.append((len(rows) + 1, pid, tag))
            if rng.random() < 0.01:  # tags removed again in the admin
                doomed.append(len(rows))
    if rows:
        doomed += [len(rows) // 2, len(rows)]  # a gap in the middle and at the end, at any scale
    insert(shop.conn, "shop_product_tags", ("id", "product_id", "tag_id"), rows)
    shop.deletions["shop_product_tags"] = sorted(set(doomed))


def pick_live(rng: random.Random, upto: int, doomed: set[int]) -> int:
    """A random id in 1..upto that is not going to be deleted (upto is at least 1)."""
    while True:
        candidate = rng.randrange(upto) + 1
        if candidate not in doomed:
            return candidate


def pick_popular(rng: random.Random, upto: int, doomed: set[int]) -> int:
    """Like pick_live, skewed towards low ids: older products sell and get reviewed more."""
    while True:
        r = rng.random()
        candidate = int(upto * r * r) + 1
        if candidate not in doomed:
            return candidate


def order_status(rng: random.Random, age: int) -> str:
    r = rng.random()
    if age > 14 * DAY:
        return ("delivered" if r < 0.80 else "cancelled" if r < 0.88 else "refunded" if r < 0.92
                else "shipped" if r < 0.95 else "paid" if r < 0.98 else "pending")
    return "pending" if r < 0.3 else "paid" if r < 0.6 else "shipped" if r < 0.85 else "delivered"


SHOWPIECE = 1_000_000  # cents: products from 10,000.00 up are not bought in ordinary orders


def fill_orders(shop: Shop) -> None:
    rng = shop.rng("shop_order")
    n = shop.count("orders")
    created = sorted_times(rng, n, START + 14 * DAY, NOW - 3600 * SECOND)
    items_pick = picker((1, 2, 3, 4, 5, 6, 7, 8, 10, 12), (25, 22, 17, 13, 9, 6, 4, 2, 1, 1))
    qty_pick = picker((0, 1, 2, 3, 4, 5, 10, 24), (0.02, 70, 15, 6, 4, 3, 1.5, 0.5))
    order_rows, item_rows, doomed_orders = [], [], []
    n_products = len(shop.product_created)
    for oid in range(1, n + 1):
        t = created[oid - 1]
        if rng.random() < 0.03:
            t = on_the_second(t)  # imported from the old shop system, second precision
        user = pick_live(rng, bisect.bisect_right(shop.user_joined, t) or 1, shop.doomed_users)
        upto = bisect.bisect_right(shop.product_created, t) or 1
        total = 0
        chosen: set[int] = set()
        for _ in range(items_pick(rng)):
            pid = pick_popular(rng, upto, shop.doomed_products)
            if pid in chosen or shop.product_price[pid - 1] >= SHOWPIECE:
                continue
            chosen.add(pid)
            qty = qty_pick(rng)
            unit = shop.product_price[pid - 1]
            if rng.random() < 0.1:  # the price changed since
                unit = max(1, round(unit * rng.uniform(0.8, 1.2)))
            total += qty * unit
            item_rows.append((len(item_rows) + 1, qty, decimal_text(unit), oid, pid))
        if oid == n // 2:  # the one order with the most expensive product: a 10-digit total
            pid = max(range(1, upto + 1), key=lambda i: shop.product_price[i - 1])
            total += shop.product_price[pid - 1]
            item_rows.append((len(item_rows) + 1, 1, decimal_text(shop.product_price[pid - 1]), oid, pid))
        status = order_status(rng, NOW - t)
        # auto_now: saved a few hundred microseconds after created_at, or at a later status change.
        updated = t + rng.randint(40, 900) if status == "pending" or rng.random() < 0.2 else \
            rng.randrange(t, min(NOW, t + 20 * DAY))
        shipped = None
        if status in ("shipped", "delivered"):
            when = t + rng.randrange(DAY // 4, 5 * DAY)
            shipped = datetime_text(on_the_second(when) if rng.random() < 0.3 else when)
        note = rng.choice(fd.ORDER_NOTES) if rng.random() < 0.1 else ""
        order_rows.append((oid, uuid4_hex(rng.getrandbits(128)), status, decimal_text(total), note,
                           datetime_text(t), datetime_text(max(updated, t)), shipped, user))
        # Test orders and erasure requests, deleted later: the last two, one in the middle, a few more.
        if oid > n - 2 or oid == n // 3 or rng.random() < 0.005:
            doomed_orders.append(oid)
    insert(shop.conn, "shop_order", ("id", "number", "status", "total", "note", "created_at",
                                     "updated_at", "shipped_at", "user_id"), order_rows)
    insert(shop.conn, "shop_orderitem", ("id", "quantity", "unit_price", "order_id", "product_id"),
           item_rows)
    shop.deletions["shop_order"] = doomed_orders


def review_body(rng: random.Random) -> str:
    if rng.random() < 0.05:
        return ""
    if rng.random() < 0.002:
        return rng.choice(fd.ODD_REVIEW_BODIES)
    sentences = rng.choices(fd.REVIEW_SENTENCES, k=rng.randint(1, 5))
    return ("\n\n" if rng.random() < 0.2 else " ").join(sentences)


SPECIAL_REVIEW_BODIES = fd.ODD_REVIEW_BODIES + (
    # 40,000 characters but 80,000 UTF-8 bytes: over a 64 KiB TEXT column's byte limit.
    "é" * 40_000,
)


def fill_reviews(shop: Shop) -> None:
    rng = shop.rng("shop_review")
    n = shop.count("reviews")
    created = sorted_times(rng, n, START + 21 * DAY, NOW)
    rating_pick = picker((1, 2, 3, 4, 5), (10, 8, 12, 25, 45))
    seen: set[tuple[int, int]] = set()
    rows, doomed = [], []
    for rid in range(1, n + 1):
        t = created[rid - 1]
        p_upto = bisect.bisect_right(shop.product_created, t) or 1
        u_upto = bisect.bisect_right(shop.user_joined, t) or 1
        for _ in range(50):  # one review per (product, user)
            key = (pick_popular(rng, p_upto, shop.doomed_products),
                   pick_live(rng, u_upto, shop.doomed_users))
            if key not in seen:
                break
        else:
            continue
        seen.add(key)
        title = "" if rng.random() < 0.08 else rng.choice(fd.REVIEW_TITLES)
        special = len(rows) < len(SPECIAL_REVIEW_BODIES)
        body = SPECIAL_REVIEW_BODIES[len(rows)] if special else review_body(rng)
        if rng.random() < 0.01:
            t = on_the_second(t)
        rows.append((len(rows) + 1, rng.choice((1, 5)) if special else rating_pick(rng), title, body,
                     int(rng.random() < 0.6), datetime_text(t), key[0], key[1]))
        if not special and rng.random() < 0.01:  # removed by moderators
            doomed.append(len(rows))
    doomed += [len(rows) // 2, len(rows)]
    insert(shop.conn, "shop_review", ("id", "rating", "title", "body", "is_verified", "created_at",
                                      "product_id", "user_id"), rows)
    shop.deletions["shop_review"] = sorted(set(doomed))


def session_payload(rng: random.Random, shop: Shop, long: bool) -> dict:
    payload: dict = {}
    if rng.random() < 0.5:
        uid = pick_live(rng, len(shop.user_joined), shop.doomed_users)
        payload = {"_auth_user_id": str(uid),
                   "_auth_user_backend": "django.contrib.auth.backends.ModelBackend",
                   "_auth_user_hash": rng.randbytes(32).hex()}
    if rng.random() < 0.4:
        n_products = len(shop.product_created)
        payload["cart"] = {str(pick_live(rng, n_products, shop.doomed_products)): rng.randint(1, 3)
                           for _ in range(rng.randint(1, 6))}
    if rng.random() < 0.3:
        payload["recently_viewed"] = [rng.randrange(1, len(shop.product_created) + 1)
                                      for _ in range(rng.randint(1, 20))]
    if rng.random() < 0.05:
        payload["django_language"] = rng.choice(("de", "fr", "es", "pt-br"))
    if not payload:  # Django deletes a session that becomes empty instead of saving it
        payload["django_language"] = "en"
    if long:
        # A bot or a power user: a history that hardly compresses, over 64 KiB once encoded.
        payload["search_history"] = [alnum(rng, 40) for _ in range(1_800)]
        payload["last_search"] = rng.choice(fd.SEARCH_WORDS)
    return payload


def fill_sessions(shop: Shop) -> None:
    rng = shop.rng("django_session")
    n = shop.count("sessions")
    encode = session_encoder(shopconf.SECRET_KEY)
    keys: set[str] = set()
    rows = []
    for i in range(n):
        key = alnum(rng, 32, "abcdefghijklmnopqrstuvwxyz0123456789")
        if key in keys:
            continue
        keys.add(key)
        saved = rng.randrange(NOW - 30 * DAY, NOW)  # some expired, not yet cleared
        long = i == 0 or rng.random() < 0.0005
        data = encode(session_payload(rng, shop, long), saved // SECOND)
        rows.append((key, data, datetime_text(saved + SESSION_AGE)))
    insert(shop.conn, "django_session", ("session_key", "session_data", "expire_date"), rows)


ADMIN_FIELDS = {
    "product": ("Name", "Price", "Is active", "Attributes", "Thumbnail", "Tags"),
    "order": ("Status", "Note", "Shipped at"),
    "category": ("Name", "Description", "Parent"),
    "review": ("Is verified", "Title", "Body"),
    "user": ("Staff status", "Active", "Email address"),
}


def fill_admin_log(shop: Shop) -> None:
    rng = shop.rng("django_admin_log")
    n = shop.count("admin_log")
    models = {"product": len(shop.product_created), "order": shop.count("orders"),
              "category": len(shop.category_ids), "review": shop.count("reviews"),
              "user": len(shop.user_joined)}
    names = list(models)
    times = sorted_times(rng, n, START + DAY, NOW)
    flag_pick = picker((1, 2, 3), (2, 7, 1))  # addition, change, deletion
    rows = []
    for lid in range(1, n + 1):
        model = rng.choice(names)
        object_id = rng.randrange(1, models[model] + 1)
        flag = flag_pick(rng)
        if flag == 1:
            message = json.dumps([{"added": {}}])
        elif flag == 2:
            changed = rng.sample(ADMIN_FIELDS[model], rng.randint(1, 2))
            message = json.dumps([{"changed": {"fields": changed}}])
        else:
            message = ""
        if model == "product":
            repr_ = shop.product_name[object_id - 1]
        elif model == "order":
            hex_ = uuid4_hex(rng.getrandbits(128))
            repr_ = f"{hex_[:8]}-{hex_[8:12]}-{hex_[12:16]}-{hex_[16:20]}-{hex_[20:]}"
        else:
            repr_ = f"{model.capitalize()} object ({object_id})"
        app = "auth" if model == "user" else "shop"
        rows.append((lid, str(object_id), repr_[:200], flag, message,
                     shop.content_types[f"{app}.{model}"], rng.choice(shop.staff or [1]),
                     datetime_text(times[lid - 1])))
    insert(shop.conn, "django_admin_log", ("id", "object_id", "object_repr", "action_flag",
                                           "change_message", "content_type_id", "user_id",
                                           "action_time"), rows)


# ---------------------------------------------------------------- assembly

def apply_deletions(shop: Shop) -> None:
    """Delete rows after insertion, as the live app did: id gaps, and sqlite_sequence stays
    above the highest remaining id (Django's SQLite tables use AUTOINCREMENT)."""
    conn = shop.conn
    orders = [(i,) for i in shop.deletions.get("shop_order", [])]
    conn.executemany("DELETE FROM shop_orderitem WHERE order_id = ?", orders)
    conn.executemany("DELETE FROM shop_order WHERE id = ?", orders)
    for table in ("shop_review", "shop_product_tags", "shop_product", "auth_user"):
        conn.executemany(f'DELETE FROM "{table}" WHERE id = ?',
                         [(i,) for i in shop.deletions.get(table, [])])


def pin_migration_times(conn: sqlite3.Connection) -> None:
    """django_migrations.applied holds the wall clock of `migrate`; pin it for reproducible files."""
    ids = [r[0] for r in conn.execute("SELECT id FROM django_migrations ORDER BY id")]
    conn.executemany("UPDATE django_migrations SET applied = ? WHERE id = ?",
                     [(datetime_text(START - DAY + i * 7_919), i) for i in ids])


def row_counts(conn: sqlite3.Connection) -> dict[str, int]:
    tables = [r[0] for r in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]
    return {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}


def generate(out_path, scale: float = 1.0, seed: int = 42) -> dict[str, int]:
    """Create the shop database at out_path (replacing it) and return table -> row count."""
    if scale <= 0:
        raise ValueError("scale must be positive")
    out = Path(out_path).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")  # never leave a half-filled file at `out`
    partial.unlink(missing_ok=True)
    try:
        counts = _fill(partial, Shop(conn=None, seed=seed, scale=scale))
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    os.replace(partial, out)
    return counts


def _fill(path: Path, shop: Shop) -> dict[str, int]:
    create_schema(path)
    conn = shop.conn = sqlite3.connect(path, isolation_level=None)
    try:
        # Only for the bulk load: none of these settings is stored in the file.
        conn.execute("PRAGMA journal_mode = OFF")
        conn.execute("PRAGMA synchronous = OFF")
        conn.execute("PRAGMA cache_size = -262144")
        conn.execute("BEGIN")
        shop.content_types = {f"{a}.{m}": i for i, a, m in
                              conn.execute("SELECT id, app_label, model FROM django_content_type")}
        for fill in (fill_users, fill_groups, fill_categories, fill_tags, fill_products,
                     fill_orders, fill_reviews, fill_sessions, fill_admin_log):
            fill(shop)
        apply_deletions(shop)
        pin_migration_times(conn)
        conn.execute("COMMIT")
        return row_counts(conn)
    finally:
        conn.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="1 = about a million rows")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--out", required=True, help="SQLite file to create (replaced if it exists)")
    args = parser.parse_args(argv)
    started = time.monotonic()
    counts = generate(args.out, scale=args.scale, seed=args.seed)
    elapsed = time.monotonic() - started
    print(json.dumps({"out": str(Path(args.out).resolve()), "seconds": round(elapsed, 1),
                      "total_rows": sum(counts.values()), "rows": counts}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
