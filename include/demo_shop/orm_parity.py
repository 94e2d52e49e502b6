"""Evidence that generated rows are stored exactly as Django's ORM would store them.

Two probes, each run in a subprocess (djangoenv.run):

- write_samples(url): saves SAMPLES through the ORM into a freshly migrated database. The test
  writes the same values with sqlite_format + plain sqlite3 into another one and compares
  typeof()/quote() cell by cell.
- resave(url): loads every row of a generated database through the ORM and saves it back
  unchanged. If the generator stored anything differently from the ORM, the file changes.

SAMPLES is plain data, importable without Django.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import djangoenv  # noqa: E402
from generate import SPECIAL_ATTRIBUTES, SPECIAL_THUMBNAILS  # noqa: E402

# One product per index i: price, created_at, attributes, thumbnail and is_active come from
# the i-th entry of each list (cycled). Datetimes: (y, m, d, H, M, S, microsecond, UTC offset min).
SAMPLES = {
    "prices": ("19.99", "0.10", "1234.50", "20.00", "0.01", "99999999.99", "0.00", "1000000.00",
               "12345678.90", "0.99", "7.05", "100.01"),
    "datetimes": ((2024, 5, 6, 7, 8, 9, 123456, 0), (2024, 5, 6, 7, 8, 9, 0, 0),
                  (2024, 2, 29, 23, 59, 59, 999999, 0), (2021, 1, 4, 9, 0, 0, 1, 0),
                  (2024, 5, 6, 7, 8, 9, 1000, 120), (1999, 12, 31, 23, 59, 59, 500000, -330),
                  (2025, 6, 30, 12, 0, 0, 0, 60)),
    "attributes": SPECIAL_ATTRIBUTES + ({"n": 1.5, "s": "😀 ü"}, [], [1, "two", None], "text", 5, 0.5,
                                        {"k": {"deep": {"deeper": [{"x": True}]}}}),
    "thumbnails": SPECIAL_THUMBNAILS + (None, b"\xff\xfe\x00\x00"),
    "booleans": (True, False),
    "uuids": ("4786ddbffa12436da6768f47bacc2e7e", "00000000000040008000000000000000",
              "ffffffffffff4fffbfffffffffffffff"),
    "names": ("Crème brûlée set", "Party pack 🎉🎈", "", "  padded  ", "Tab\there", "C:\\Temp"),
    "sessions": ({"_auth_user_id": "2", "cart": {"1": 2}}, {"django_language": "en"},
                 {"search_history": [f"term {i} ü" for i in range(400)]}),
    "session_time": 1_750_000_000,
}


def write_samples(database_url: str) -> dict:
    return djangoenv.run("orm_parity", "samples", database_url)


def resave(database_url: str) -> dict:
    return djangoenv.run("orm_parity", "resave", database_url)


def sample_rows() -> list[dict]:
    """The product rows SAMPLES describe (shared by the ORM and the plain-sqlite3 writer)."""
    n = max(len(SAMPLES[k]) for k in ("prices", "datetimes", "attributes", "thumbnails", "names"))
    pick = lambda key, i: SAMPLES[key][i % len(SAMPLES[key])]  # noqa: E731
    return [{"id": i + 1, "price": pick("prices", i), "created_at": pick("datetimes", i),
             "attributes": pick("attributes", i), "thumbnail": pick("thumbnails", i),
             "is_active": pick("booleans", i), "name": pick("names", i), "slug": f"sample-{i + 1}"}
            for i in range(n)]


def _aware(parts) -> "object":
    import datetime as dt

    *fields, offset = parts
    return dt.datetime(*fields, tzinfo=dt.timezone(dt.timedelta(minutes=offset)))


def _write_samples() -> dict:
    """Write SAMPLES through the ORM (user 1, category 1, products, orders, a review, sessions)."""
    import uuid
    from decimal import Decimal
    from unittest import mock

    from django.contrib.auth.models import User
    from django.contrib.sessions.backends.db import SessionStore

    from shop.models import Category, Order, OrderItem, Product, Review

    user = User.objects.create(username="sampler", password="x", date_joined=_aware(SAMPLES["datetimes"][0]))
    category = Category.objects.create(name="Samples", slug="samples")
    for row in sample_rows():
        Product.objects.create(
            id=row["id"], name=row["name"], slug=row["slug"], category=category, seller=user,
            price=Decimal(row["price"]), attributes=row["attributes"], thumbnail=row["thumbnail"],
            is_active=row["is_active"], created_at=_aware(row["created_at"]))
    for i, hex_ in enumerate(SAMPLES["uuids"], 1):
        when = _aware(SAMPLES["datetimes"][i % len(SAMPLES["datetimes"])])
        amount = Decimal(SAMPLES["prices"][i])
        order = Order.objects.create(id=i, number=uuid.UUID(hex_), user=user, total=amount, created_at=when)
        Order.objects.filter(pk=order.pk).update(updated_at=when)  # auto_now would stamp the wall clock
        OrderItem.objects.create(id=i, order=order, product_id=i, quantity=i, unit_price=amount)
    Review.objects.create(id=1, product_id=1, user=user, rating=5, title="", body="Line\r\nbreak 😀",
                          is_verified=True, created_at=_aware(SAMPLES["datetimes"][2]))
    keys = []
    # Session data carries a signing timestamp; pin the clock the signer reads.
    with mock.patch("django.core.signing.time.time", return_value=SAMPLES["session_time"]):
        for payload in SAMPLES["sessions"]:
            store = SessionStore()
            store.update(payload)
            store.create()
            keys.append(store.session_key)
    return {"session_keys": keys}


def _resave() -> dict:
    """Save every row back through the ORM, leaving auto_now fields out of the update."""
    from django.apps import apps
    from django.db import transaction

    saved = {}
    with transaction.atomic():
        for model in apps.get_models(include_auto_created=True):
            if model._meta.label in ("contenttypes.ContentType", "auth.Permission", "migrations.Migration"):
                continue  # owned by migrate itself
            fields = [f.attname for f in model._meta.concrete_fields
                      if not f.primary_key and not getattr(f, "auto_now", False)]
            if not fields:
                continue
            count = 0
            for obj in model.objects.order_by("pk").iterator(chunk_size=2_000):
                obj.save(update_fields=fields)
                count += 1
            saved[model._meta.label] = count
    return {"saved": saved}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="ORM storage-parity probes (print JSON).")
    parser.add_argument("command", choices=("samples", "resave"))
    parser.add_argument("--database-url", help=f"default: ${djangoenv.URL_VAR}")
    args = parser.parse_args(argv)
    djangoenv.setup(args.database_url)
    djangoenv.emit(_write_samples() if args.command == "samples" else _resave())
    return 0


if __name__ == "__main__":
    sys.exit(main())
