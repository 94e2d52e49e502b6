"""Shop rows read, found and written through Django's ORM, in one canonical JSON form, so the
same rows can be compared between the SQLite and the MySQL database of the shop.

    python orm_rows.py read  --spec ids.json      {"order": [ids], ...} -> {"order": {id: row or null}, ...}
    python orm_rows.py find  --spec uuids.json    ["<uuid in any form>", ...] -> {"missing": [...]}
    python orm_rows.py write --spec objects.json  [{"model": "product", "fields": {...}}, ...] -> {"rows": [...]}

Each call runs in its own process (djangoenv), with the database URL in SHOP_DATABASE_URL.
The Python functions read(), find() and write() start that process; snapshot() is the
canonical form of one row (the application writer journals its writes in it).
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import tempfile
import uuid
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import djangoenv  # noqa: E402

MODELS = {"order": "shop.Order", "item": "shop.OrderItem", "product": "shop.Product"}
BATCH = 500


def read(database_url: str, ids: dict[str, list[int]]) -> dict:
    return _run("read", database_url, ids)


def find(database_url: str, numbers: list[str]) -> dict:
    return _run("find", database_url, numbers)


def write(database_url: str, objects: list[dict]) -> dict:
    return _run("write", database_url, objects)


def _run(command: str, database_url: str, spec) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".json") as handle:
        json.dump(spec, handle)
        handle.flush()
        return djangoenv.run("orm_rows", command, database_url, "--spec", handle.name)


# ------------------------------------------------------------------ in-process implementations

def model(name: str):
    from django.apps import apps

    return apps.get_model(MODELS[name])


def canonical(value):
    """A field value as JSON that compares equal across databases exactly when the values do."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.timezone.utc).isoformat(timespec="microseconds")
    if isinstance(value, uuid.UUID):
        return value.hex
    if isinstance(value, (bytes, memoryview)):
        return bytes(value).hex()
    return value


def snapshot(obj) -> dict:
    return {f.attname: canonical(getattr(obj, f.attname)) for f in obj._meta.concrete_fields}


def _parse(name: str, fields: dict) -> dict:
    """JSON fields of a write spec as the model's Python values."""
    out = {}
    for f in model(name)._meta.concrete_fields:
        if f.attname not in fields:
            continue
        value = fields[f.attname]
        kind = f.get_internal_type()
        if value is not None and kind == "DecimalField":
            value = Decimal(value)
        elif value is not None and kind == "DateTimeField":
            value = dt.datetime.fromisoformat(value)
        elif value is not None and kind == "UUIDField":
            value = uuid.UUID(value)
        elif value is not None and kind == "BinaryField":
            value = bytes.fromhex(value)
        out[f.attname] = value
    return out


def read_rows(ids: dict[str, list[int]]) -> dict:
    out: dict = {}
    for name, wanted in ids.items():
        found = {}
        for i in range(0, len(wanted), BATCH):
            found.update({obj.pk: snapshot(obj) for obj in model(name).objects.filter(pk__in=wanted[i:i + BATCH])})
        out[name] = {str(pk): found.get(pk) for pk in wanted}
    return out


def find_orders(numbers: list[str]) -> dict:
    """The order numbers (any UUID spelling) the ORM does not find by UUID."""
    Order = model("order")
    missing = []
    for i in range(0, len(numbers), BATCH):
        chunk = {uuid.UUID(n): n for n in numbers[i:i + BATCH]}
        found = set(Order.objects.filter(number__in=list(chunk)).values_list("number", flat=True))
        missing += [text for value, text in chunk.items() if value not in found]
    return {"checked": len(numbers), "missing": missing}


def write_rows(objects: list[dict]) -> dict:
    from django.db import transaction

    with transaction.atomic():
        saved = [model(o["model"]).objects.create(**_parse(o["model"], o["fields"])) for o in objects]
    return {"rows": [{"model": o["model"], **snapshot(model(o["model"]).objects.get(pk=obj.pk))}
                     for o, obj in zip(objects, saved)]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Shop rows through Django's ORM (prints JSON).")
    parser.add_argument("command", choices=("read", "find", "write"))
    parser.add_argument("--spec", required=True, help="JSON file: ids, order numbers or objects")
    parser.add_argument("--database-url", help=f"default: ${djangoenv.URL_VAR}")
    args = parser.parse_args(argv)
    djangoenv.setup(args.database_url)
    spec = json.loads(Path(args.spec).read_text())
    djangoenv.emit({"read": read_rows, "find": find_orders, "write": write_rows}[args.command](spec))
    return 0


if __name__ == "__main__":
    sys.exit(main())
