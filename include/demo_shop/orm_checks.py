"""Questions answered through Django's ORM, to prove a migrated database still works as the app's.

    python include/demo_shop/orm_checks.py answers --database-url sqlite:////tmp/shop.sqlite3
    python include/demo_shop/orm_checks.py insert  --database-url mysql://root@127.0.0.1:3306/shop

answers(url) runs read-only queries and returns a JSON-serialisable dict. Run it on the SQLite
source and on the MySQL target: everything outside the "collation_dependent" key must be
equal. Aggregates are reported twice where SQLite is inexact: "db" is the database's own SUM
over REAL values (rounded to cents), "exact" is the Decimal sum of the values the ORM loaded.

insert_smoke(url) writes a user, product, order with two items, review and session through the
ORM, reads them back with fresh queries and reports what it read; by default it rolls back so
the target keeps matching the source.

Each call runs in its own Python process (see djangoenv.py), so any number of databases can be
checked from one process.
"""
from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import sys
import uuid
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import djangoenv  # noqa: E402

CENT = Decimal("0.01")
# The hard cases the generator plants (fake_data.COLLIDING_USERS, special products).
USERNAMES = ("Anna", "anna", "JOHN.SMITH", "john.smith", "José", "Jose", "Straße", "strasse")
KNOWN_PASSWORDS = {"admin": "admin-demo-password", "Anna": "anna-demo-password"}
LABEL = "Crème brûlée 😀"
BIG_JSON_INT = 9007199254740993


def answers(database_url: str) -> dict:
    """Read-only ORM answers for database_url (runs in a subprocess)."""
    return djangoenv.run("orm_checks", "answers", database_url)


def insert_smoke(database_url: str, keep: bool = False) -> dict:
    """Write and read back through the ORM (runs in a subprocess); rolled back unless keep."""
    return djangoenv.run("orm_checks", "insert", database_url, *(["--keep"] if keep else []))


# ------------------------------------------------------------------ in-process implementations

def _sha256(chunks) -> str:
    digest = hashlib.sha256()
    for chunk in chunks:
        digest.update(chunk if isinstance(chunk, bytes) else str(chunk).encode("utf-8", "surrogatepass"))
        digest.update(b"\x1f")
    return digest.hexdigest()


def _cents(value) -> str | None:
    return None if value is None else str(Decimal(value).quantize(CENT))


def _iso(value: dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat(timespec="microseconds")


def _money(models) -> dict:
    from django.db.models import DecimalField, F, Sum

    Order, OrderItem = models.Order, models.OrderItem
    line = F("quantity") * F("unit_price")
    db_total = Order.objects.aggregate(s=Sum("total"))["s"]
    db_lines = OrderItem.objects.aggregate(
        s=Sum(line, output_field=DecimalField(max_digits=20, decimal_places=2)))["s"]
    exact_total = sum(Order.objects.values_list("total", flat=True).iterator(chunk_size=20_000), Decimal(0))
    per_order: dict[int, Decimal] = {}
    for order_id, qty, price in OrderItem.objects.values_list(
            "order_id", "quantity", "unit_price").iterator(chunk_size=20_000):
        per_order[order_id] = per_order.get(order_id, Decimal(0)) + qty * price
    mismatched = sum(1 for oid, total in Order.objects.values_list("id", "total").iterator(chunk_size=20_000)
                     if per_order.get(oid, Decimal(0)) != total)
    prices = list(models.Product.objects.order_by("id").values_list("id", "price")[:8])
    return {
        "order_total_sum": {"db": _cents(db_total), "exact": str(exact_total)},
        "line_total_sum": {"db": _cents(db_lines), "exact": str(sum(per_order.values(), Decimal(0)))},
        "orders_not_matching_items": mismatched,
        "first_product_prices": [[pid, str(price)] for pid, price in prices],
        "cheapest": str(models.Product.objects.order_by("price", "id").values_list("price", flat=True)[0]),
        "dearest": str(models.Product.objects.order_by("-price", "id").values_list("price", flat=True)[0]),
        "whole_number_prices": sum(1 for p in models.Product.objects.values_list("price", flat=True)
                                   if p == p.to_integral_value()),
    }


def _time_ranges(models) -> dict:
    """Counts between two created_at values taken from the data, under all four boundary rules."""
    from django.db.models import Count, Max, Min

    Order = models.Order
    times = sorted(Order.objects.values_list("created_at", flat=True).iterator(chunk_size=20_000))
    n = len(times)
    lo = next((t for t in times[n // 3:] if t.microsecond), times[n // 3])
    hi = next((t for t in times[2 * n // 3:] if t.microsecond == 0), times[2 * n // 3])
    qs = Order.objects
    orm = {
        "gte_lt": qs.filter(created_at__gte=lo, created_at__lt=hi).count(),
        "gt_lte": qs.filter(created_at__gt=lo, created_at__lte=hi).count(),
        "gte_lte": qs.filter(created_at__range=(lo, hi)).count(),
        "gt_lt": qs.filter(created_at__gt=lo, created_at__lt=hi).count(),
        "eq_lo": qs.filter(created_at=lo).count(),
        "eq_hi": qs.filter(created_at=hi).count(),
    }
    python = {
        "gte_lt": sum(lo <= t < hi for t in times), "gt_lte": sum(lo < t <= hi for t in times),
        "gte_lte": sum(lo <= t <= hi for t in times), "gt_lt": sum(lo < t < hi for t in times),
        "eq_lo": times.count(lo), "eq_hi": times.count(hi),
    }
    by_year = {str(row["created_at__year"]): row["n"] for row in
               qs.values("created_at__year").annotate(n=Count("id")).order_by("created_at__year")}
    day = lo.date()
    span = Order.objects.aggregate(first=Min("created_at"), last=Max("created_at"))
    return {
        "lo": _iso(lo), "hi": _iso(hi), "orm": orm, "python": python, "by_year": by_year,
        "on_day_of_lo": qs.filter(created_at__date=day).count(),
        "on_whole_seconds": sum(1 for t in times if t.microsecond == 0),
        "first": _iso(span["first"]), "last": _iso(span["last"]),
        "shipped_at_null": qs.filter(shipped_at__isnull=True).count(),
    }


def _json(models) -> dict:
    P = models.Product.objects
    return {
        "color_red": P.filter(attributes__color="red").count(),
        "dims_w_gt_100": P.filter(attributes__dims__w__gt=100).count(),
        "dims_d_lt_1": P.filter(attributes__dims__d__lt=1).count(),
        "has_warranty_key": P.filter(attributes__has_key="warranty_years").count(),
        "warranty_json_null": P.filter(attributes__warranty_years=None).count(),
        "warranty_key_missing": P.filter(attributes__warranty_years__isnull=True).count(),
        "first_size_s": P.filter(attributes__sizes__0="S").count(),
        "label_exact_ids": sorted(P.filter(attributes__label=LABEL).values_list("id", flat=True)),
        "nested_path_ids": sorted(P.filter(attributes__nested__a__5__b="ü").values_list("id", flat=True)),
        "big_int_ids": sorted(P.filter(attributes__ean=BIG_JSON_INT).values_list("id", flat=True)),
        "empty_object": P.filter(attributes={}).count(),
        "first_attributes": [list(row) for row in P.order_by("id").values_list("id", "attributes")[:4]],
        "digest": _sha256(repr(a) for a in P.order_by("id").values_list("attributes", flat=True)
                          .iterator(chunk_size=5_000)),
    }


def _relations(models) -> dict:
    from django.db.models import Count

    Tag, Product, Category = models.Tag, models.Product, models.Category
    top = Tag.objects.annotate(n=Count("products")).order_by("-n", "id")[:5]
    parents = dict(Category.objects.values_list("id", "parent_id"))

    def depth(cid):
        d = 0
        while parents[cid] is not None:
            cid, d = parents[cid], d + 1
        return d

    return {
        "top_tags": [[t.id, t.name, t.n] for t in top],
        "product_tag_links": Product.tags.through.objects.count(),
        "untagged_products": Product.objects.filter(tags__isnull=True).count(),
        "products_tagged_red": Product.objects.filter(tags__name="Red").count(),
        "category_max_depth": max(map(depth, parents)) if parents else 0,
        "root_categories": Category.objects.filter(parent__isnull=True).count(),
        "items_of_first_order": list(models.OrderItem.objects.filter(order=models.Order.objects.order_by(
            "id").first()).order_by("id").values_list("product_id", "quantity")),
    }


def _users(models) -> dict:
    from django.contrib.auth.hashers import check_password
    from django.contrib.auth.models import User

    named = {name: sorted(User.objects.filter(username=name).values_list("id", flat=True))
             for name in USERNAMES}
    passwords = {}
    for username, raw in KNOWN_PASSWORDS.items():
        user = User.objects.filter(username=username).first()
        # hashers.check_password without a setter: a check must never write.
        passwords[username] = bool(user) and check_password(raw, user.password)
    return {
        "named": named,
        "password_ok": passwords,
        "staff": User.objects.filter(is_staff=True).count(),
        "inactive": User.objects.filter(is_active=False).count(),
        "never_logged_in": User.objects.filter(last_login__isnull=True).count(),
        "empty_email": User.objects.filter(email="").count(),
        "names_digest": _sha256(f"{u}\x1e{f}\x1e{l}\x1e{e}" for u, f, l, e in User.objects.order_by("id")
                                .values_list("username", "first_name", "last_name", "email")),
        "in_groups": User.objects.filter(groups__isnull=False).distinct().count(),
    }


def _binary(models) -> dict:
    P = models.Product.objects
    with_thumbs = P.filter(thumbnail__isnull=False).order_by("id")
    first = {str(pid): hashlib.sha256(bytes(b)).hexdigest()
             for pid, b in with_thumbs.values_list("id", "thumbnail")[:6]}
    return {
        "first_sha256": first,
        "all_sha256": _sha256(bytes(b) for b in with_thumbs.values_list("thumbnail", flat=True)
                              .iterator(chunk_size=2_000)),
        "null": P.filter(thumbnail__isnull=True).count(),
        "empty": P.filter(thumbnail=b"").count(),
        "total_bytes": sum(len(b) for b in with_thumbs.values_list("thumbnail", flat=True)
                           .iterator(chunk_size=2_000)),
    }


def _uuids(models) -> dict:
    Order = models.Order
    ids = list(Order.objects.order_by("id").values_list("id", flat=True))
    picks = [ids[0], ids[len(ids) // 2], ids[-1]] if ids else []
    found = {}
    for oid in picks:
        number = Order.objects.get(id=oid).number
        by_uuid = Order.objects.get(number=number)
        by_dashed = Order.objects.get(number=str(number))  # as in a URL
        found[str(number)] = [by_uuid.id, by_dashed.id, str(by_uuid.total)]
    return {"lookups": found, "missing": Order.objects.filter(number=uuid.UUID(int=0)).count()}


def _reviews(models) -> dict:
    from django.db.models import Avg, Count, Max, Min, Sum

    R = models.Review.objects
    agg = R.aggregate(avg=Avg("rating"), total=Sum("rating"), n=Count("id"), latest=Max("created_at"),
                      earliest=Min("created_at"))
    exact = (Decimal(agg["total"]) / agg["n"]).quantize(Decimal("0.000001")) if agg["n"] else None
    return {
        "avg_rating_db": None if agg["avg"] is None else f"{agg['avg']:.3f}",
        "avg_rating_exact": str(exact),
        "rating_sum": agg["total"], "count": agg["n"],
        "by_rating": dict(sorted((str(r), n) for r, n in R.values_list("rating").annotate(n=Count("id")))),
        "latest": _iso(agg["latest"]), "earliest": _iso(agg["earliest"]),
        "empty_title": R.filter(title="").count(), "empty_body": R.filter(body="").count(),
        "verified": R.filter(is_verified=True).count(),
        "text_digest": _sha256(f"{t}\x1e{b}" for t, b in R.order_by("id").values_list("title", "body")
                               .iterator(chunk_size=5_000)),
        "max_body_chars": max((len(b) for b in R.values_list("body", flat=True).iterator(chunk_size=5_000)),
                              default=0),
    }


def _sessions() -> dict:
    from django.contrib.sessions.models import Session

    decoded, undecodable, users, longest = 0, 0, set(), 0
    digest = hashlib.sha256()
    for key, data in Session.objects.order_by("session_key").values_list("session_key", "session_data") \
            .iterator(chunk_size=5_000):
        payload = Session(session_key=key, session_data=data).get_decoded()  # checks the signature
        if payload:
            decoded += 1
            users.add(payload.get("_auth_user_id"))
        else:
            undecodable += 1
        longest = max(longest, len(data))
        digest.update(f"{key}:{sorted(payload.items())!r}\n".encode())
    return {"decoded": decoded, "undecodable": undecodable, "distinct_users": len(users - {None}),
            "longest_data_chars": longest, "payload_digest": digest.hexdigest()}


def _counts(models) -> dict:
    from django.contrib.admin.models import LogEntry
    from django.contrib.auth.models import Group, User
    from django.db.models import Max

    out = {}
    for model in (User, Group, LogEntry, models.Category, models.Tag, models.Product, models.Order,
                  models.OrderItem, models.Review):
        out[model._meta.label] = {"rows": model.objects.count(),
                                  "max_id": model.objects.aggregate(m=Max("id"))["m"]}
    return out


def _statuses(models) -> dict:
    from django.db.models import Count

    return dict(sorted(models.Order.objects.values_list("status").annotate(n=Count("id"))))


def _collation_dependent(models) -> dict:
    """Answers that legitimately depend on the target's collation (SQLite LIKE folds ASCII only)."""
    from django.contrib.auth.models import User

    return {
        "username_iexact": {name: User.objects.filter(username__iexact=name).count() for name in USERNAMES},
        "tag_name_icontains_eco": models.Tag.objects.filter(name__icontains="eco").count(),
        "product_name_istartswith_creme": models.Product.objects.filter(name__istartswith="crème").count(),
        "first_usernames_sorted": list(User.objects.order_by("username")
                                       .values_list("username", flat=True)[:5]),
    }


def compute_answers() -> dict:
    from shop import models

    return {
        "counts": _counts(models),
        "money": _money(models),
        "order_times": _time_ranges(models),
        "order_status": _statuses(models),
        "json": _json(models),
        "relations": _relations(models),
        "users": _users(models),
        "binary": _binary(models),
        "uuids": _uuids(models),
        "reviews": _reviews(models),
        "sessions": _sessions(),
        "collation_dependent": _collation_dependent(models),
    }


SMOKE_TIME = dt.datetime(2025, 7, 1, 8, 30, 15, 123456, tzinfo=dt.timezone.utc)
SMOKE_ATTRIBUTES = {"color": "red", "dims": {"w": 12.5, "h": 3}, "label": "smoke 😀 ü",
                    "list": [1, None, True]}
SMOKE_THUMBNAIL = b"\x00\x09\x0a\x5c\x27\x22\xff" * 3
# What the smoke writes, in the form it is compared after reading back.
SMOKE_WRITTEN = {
    "price": "19.99", "unit_prices": ["19.99", "0.10"], "total": "40.08",
    "created_at": SMOKE_TIME.isoformat(), "attributes": SMOKE_ATTRIBUTES,
    "thumbnail_sha256": hashlib.sha256(SMOKE_THUMBNAIL).hexdigest(),
    "review_body": "Line one\r\nLine two 😀", "first_name": "Zoë 😀",
}
SMOKE_SESSION_EXTRA = {"note": "smoke ü"}  # next to _auth_user_id


def _smoke_write(token: str) -> dict:
    """Create a user, product (2 tags), order with two items, review and session; return their keys."""
    from django.contrib.auth.models import User
    from django.contrib.sessions.backends.db import SessionStore

    from shop.models import Category, Order, OrderItem, Product, Review, Tag

    user = User.objects.create_user(username=f"smoke_{token}", email=f"smoke_{token}@example.com",
                                    password="smoke-password", first_name=SMOKE_WRITTEN["first_name"])
    category = Category.objects.order_by("id").first() or Category.objects.create(name="Smoke", slug=token)
    product = Product.objects.create(
        name="Smoke test 🧪 crème", slug=f"smoke-{token}", category=category, seller=user,
        price=Decimal("19.99"), attributes=SMOKE_ATTRIBUTES, thumbnail=SMOKE_THUMBNAIL, created_at=SMOKE_TIME)
    product.tags.add(*Tag.objects.order_by("id")[:2])
    other = Product.objects.exclude(pk=product.pk).order_by("id").first() or product
    order = Order.objects.create(user=user, status=Order.Status.PAID, total=Decimal(0), created_at=SMOKE_TIME)
    OrderItem.objects.create(order=order, product=product, quantity=2, unit_price=Decimal("19.99"))
    OrderItem.objects.create(order=order, product=other, quantity=1, unit_price=Decimal("0.10"))
    order.total = sum((i.quantity * i.unit_price for i in order.items.all()), Decimal(0))
    order.save()
    review = Review.objects.create(product=product, user=user, rating=5, title="", is_verified=True,
                                   body=SMOKE_WRITTEN["review_body"], created_at=SMOKE_TIME)
    session = SessionStore()
    session.update({"_auth_user_id": str(user.pk), **SMOKE_SESSION_EXTRA})
    session.create()
    return {"user": user.pk, "product": product.pk, "order": order.number, "review": review.pk,
            "session": session.session_key}


def _smoke_read(keys: dict) -> dict:
    """Read the smoke rows back with fresh queries: nothing comes from the instances written."""
    from django.contrib.auth.models import User
    from django.contrib.sessions.backends.db import SessionStore

    from shop.models import Order, OrderItem, Product, Review

    u = User.objects.get(pk=keys["user"])
    p = Product.objects.get(pk=keys["product"])
    o = Order.objects.get(number=keys["order"])
    items = list(OrderItem.objects.filter(order=o).order_by("id"))
    r = Review.objects.get(pk=keys["review"])
    read = {"price": str(p.price), "unit_prices": [str(i.unit_price) for i in items], "total": str(o.total),
            "created_at": o.created_at.isoformat(), "attributes": p.attributes,
            "thumbnail_sha256": hashlib.sha256(bytes(p.thumbnail)).hexdigest(),
            "review_body": r.body, "first_name": u.first_name}
    return {
        "read": read,
        "matches": {k: read[k] == SMOKE_WRITTEN[k] for k in SMOKE_WRITTEN},
        "password_ok": u.check_password("smoke-password"),
        "tag_count": p.tags.count(),
        "product_created_at": p.created_at.isoformat(),
        "review_created_at": r.created_at.isoformat(),
        "session_roundtrip": (SessionStore(session_key=keys["session"]).load()
                              == {"_auth_user_id": str(u.pk), **SMOKE_SESSION_EXTRA}),
        "order_number": str(o.number),
        "new_ids": {"auth.User": u.pk, "shop.Product": p.pk, "shop.Order": o.pk,
                    "shop.OrderItem": items[-1].pk, "shop.Review": r.pk},
    }


def run_insert_smoke(keep: bool) -> dict:
    """Write through the ORM, read back, compare; roll back unless keep."""
    from django.contrib.auth.models import User
    from django.db import connection, transaction
    from django.db.models import Max

    from shop.models import Order, OrderItem, Product, Review, Tag

    with transaction.atomic():
        before = {m._meta.label: m.objects.aggregate(m=Max("id"))["m"] or 0
                  for m in (User, Product, Order, OrderItem, Review)}
        result = _smoke_read(_smoke_write(uuid.uuid4().hex[:10]))
        result.update(vendor=connection.vendor, kept=keep, previous_max_ids=before)
        # New ids must come after every existing one (the target's AUTO_INCREMENT was carried over).
        result["ids_above_previous_max"] = all(result["new_ids"][k] > before[k] for k in before)
        result["ok"] = (all(result["matches"].values()) and result["password_ok"]
                        and result["session_roundtrip"] and result["ids_above_previous_max"]
                        and result["tag_count"] == min(2, Tag.objects.count()))
        if not keep:
            transaction.set_rollback(True)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Demo-shop checks through Django's ORM (prints JSON).")
    parser.add_argument("command", choices=("answers", "insert"))
    parser.add_argument("--database-url", help=f"default: ${djangoenv.URL_VAR}")
    parser.add_argument("--keep", action="store_true", help="insert: commit instead of rolling back")
    args = parser.parse_args(argv)
    djangoenv.setup(args.database_url)
    djangoenv.emit(compute_answers() if args.command == "answers" else run_insert_smoke(args.keep))
    return 0


if __name__ == "__main__":
    sys.exit(main())
