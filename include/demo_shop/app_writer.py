"""The demo shop's application reduced to its writes, for the cutover's end-to-end test and
benchmark: it places, changes and cancels orders and reprices products through the ORM, each
in one transaction retried the way the sample settings say (shop.retry), and journals every
write that committed.

    SHOP_DATABASE_URL=sqlite:////srv/shop.sqlite3 python app_writer.py --journal writes.jsonl \
        --settings-file database.env --stop stop.flag [--pause 0.01] [--seed 1]

- It starts on SHOP_DATABASE_URL. The cutover's switch writes --settings-file
  (`DATABASE_URL=...`); when that names another database, the writer reloads itself onto it,
  as an application that the switch restarts does.
- The journal gets one JSON line per committed write, {"db", "model", "id", "row"} (row is
  null once deleted, in orm_rows.snapshot form), and a {"stats": ...} line each time the
  writer stops or reloads. It ends cleanly once the --stop file exists.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
import uuid
from collections import Counter
from decimal import Decimal
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import djangoenv  # noqa: E402

NOTES = ["", "gift wrap, please", "Crème brûlée 😀", "leave at the door", "tab\tnew\nline", "it's \"quoted\""]


def settings_url(path: Path) -> str | None:
    """The DATABASE_URL of the settings file the switch writes, None before it exists."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None
    return next((line.split("=", 1)[1].strip() for line in text.splitlines() if line.startswith("DATABASE_URL=")),
                None)


class Writer:
    def __init__(self, args) -> None:
        from django.contrib.auth import get_user_model
        from django.db import connection

        from shop.models import Order, Product

        self.args, self.url, self.db = args, os.environ[djangoenv.URL_VAR], connection.vendor
        self.stats: Counter = Counter()
        self.journal = open(args.journal, "a", encoding="utf-8")
        self.ours = self._ours_so_far()
        self.rng = random.Random(args.seed * 1_000_003 + len(self.ours))
        self.users = list(get_user_model().objects.order_by("id").values_list("id", flat=True)[:200])
        self.products = list(Product.objects.order_by("id").values_list("id", flat=True)[:200])
        self.orders = list(Order.objects.order_by("id").values_list("id", flat=True)[:2000])

    def _ours_so_far(self) -> list[int]:
        """Orders this writer placed and has not cancelled (from its journal: it may have reloaded)."""
        journal = Path(self.args.journal)
        ours: dict[int, None] = {}
        for line in journal.read_text().splitlines() if journal.exists() else []:
            entry = json.loads(line)
            if entry.get("model") == "order" and entry["op"] == "create":
                ours[entry["id"]] = None
            elif entry.get("model") == "order" and entry["op"] == "delete":
                ours.pop(entry["id"], None)
        return list(ours)

    def run(self) -> None:
        from shop.retry import DatabaseMoved, atomic_with_retry

        stop = Path(self.args.stop)
        while not stop.exists():
            if settings_url(Path(self.args.settings_file)) not in (None, self.url):
                self.reload()
            work = self.rng.choices([self.place, self.change, self.cancel, self.reprice], [40, 30, 10, 20])[0]
            try:
                entries = atomic_with_retry(work, on_retry=lambda reason: self.stats.update([reason]))
            except DatabaseMoved:
                self.stats["moved"] += 1  # the switch is pointing the application elsewhere right now
                time.sleep(0.02)
                continue
            for entry in entries:
                self.journal.write(json.dumps({"db": self.db, **entry}) + "\n")
            self.journal.flush()
            self.stats["committed"] += 1
            time.sleep(self.args.pause)
        self.close()

    def close(self) -> None:
        self.journal.write(json.dumps({"stats": {"db": self.db, **self.stats}}) + "\n")
        self.journal.close()

    def reload(self) -> None:
        """Onto the database the switch named, as a restarted application."""
        self.close()
        os.execve(sys.executable, [sys.executable, str(Path(__file__)), *sys.argv[1:]],
                  {**os.environ, djangoenv.URL_VAR: settings_url(Path(self.args.settings_file))})

    # --- the writes: each returns the journal entries of what it wrote ------------------------

    @staticmethod
    def _entry(name: str, pk: int, op: str) -> dict:
        from orm_rows import model, snapshot

        obj = model(name).objects.filter(pk=pk).first()
        return {"model": name, "id": pk, "op": op, "row": snapshot(obj) if obj else None}

    def _now(self):
        from django.utils import timezone

        return timezone.now()

    def place(self) -> list[dict]:
        from shop.models import Order, OrderItem, Product

        rng = self.rng
        order = Order.objects.create(number=uuid.uuid4(), user_id=rng.choice(self.users), status="pending",
                                     total=Decimal(rng.randrange(100, 10_000_000)) / 100, note=rng.choice(NOTES),
                                     created_at=self._now())
        entries = [self._entry("order", order.pk, "create")]
        for product_id in rng.sample(self.products, rng.randint(1, 2)):
            item = OrderItem.objects.create(order=order, product_id=product_id, quantity=rng.randint(0, 5),
                                            unit_price=Product.objects.get(pk=product_id).price)
            entries.append(self._entry("item", item.pk, "create"))
        self.ours.append(order.pk)
        return entries

    def change(self) -> list[dict]:
        from shop.models import Order

        rng = self.rng
        pk = rng.choice(self.ours) if self.ours and rng.random() < 0.5 else rng.choice(self.orders)
        order = Order.objects.filter(pk=pk).first()
        if order is None:
            return []
        order.status = rng.choice(["paid", "shipped", "delivered", "refunded"])
        order.shipped_at = self._now() if order.status in ("shipped", "delivered") else None
        order.total = Decimal(rng.randrange(0, 10_000_000)) / 100
        order.save()
        return [self._entry("order", pk, "update")]

    def cancel(self) -> list[dict]:
        from shop.models import Order

        if not self.ours:
            return []
        pk = self.ours.pop(self.rng.randrange(len(self.ours)))
        order = Order.objects.get(pk=pk)
        items = list(order.items.values_list("pk", flat=True))
        order.delete()  # its items go with it
        return [{"model": "item", "id": i, "op": "delete", "row": None} for i in items] + \
            [{"model": "order", "id": pk, "op": "delete", "row": None}]

    def reprice(self) -> list[dict]:
        from shop.models import Product

        rng = self.rng
        product = Product.objects.get(pk=rng.choice(self.products))
        product.price = Decimal(rng.randrange(1, 10_000_000)) / 100
        product.attributes = {"rev": rng.randrange(10 ** 6), "colour": rng.choice(["red", "vert", "青"]),
                              "big": 2 ** 53 + rng.randrange(10), "ratio": rng.random()}
        product.is_active = not product.is_active
        product.save()
        return [self._entry("product", product.pk, "update")]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The demo shop's writes, journaled (cutover tests).")
    parser.add_argument("--journal", required=True)
    parser.add_argument("--settings-file", required=True)
    parser.add_argument("--stop", required=True)
    parser.add_argument("--pause", type=float, default=0.01)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    djangoenv.setup()
    Writer(args).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
