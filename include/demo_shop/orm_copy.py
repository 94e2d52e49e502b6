"""Reference copy of the shop from one database into another, through the ORM.

    python include/demo_shop/orm_copy.py --source-url sqlite:////tmp/shop.sqlite3 \\
        --database-url mysql://root@127.0.0.1:3306/shop_copy

Slow and memory-hungry (every row becomes a Python object), but faithful by construction:
each value is read by Django's converters and written by Django's adapters. Tests use it to
show that orm_checks.answers() gives identical results on SQLite and MySQL when nothing was
lost. It is not the production migration: among other things the target's AUTO_INCREMENT
ends up at max(id) + 1, so ids of rows deleted at the source get reused.
The target must already be migrated (manage.py migrate) and empty.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import djangoenv  # noqa: E402

SOURCE_VAR = "SHOP_SOURCE_DATABASE_URL"
SKIP = {"contenttypes.ContentType", "auth.Permission"}  # created by migrate, same ids on both sides


def copy(source_url: str, target_url: str) -> dict:
    """Copy every row from source_url into target_url (runs in a subprocess)."""
    return djangoenv.run("orm_copy", "copy", target_url, env={SOURCE_VAR: source_url})


def _copy() -> dict:
    from django.apps import apps
    from django.db import connection, transaction

    copied = {}
    models = [m for m in apps.get_models(include_auto_created=True) if m._meta.label not in SKIP]
    stamped = [f for m in models for f in m._meta.concrete_fields
               if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)]
    for f in stamped:  # keep the stored timestamps instead of stamping "now"
        f.auto_now = f.auto_now_add = False
    with transaction.atomic(), connection.constraint_checks_disabled():
        for model in models:
            rows = list(model.objects.using("source").order_by("pk"))
            model.objects.bulk_create(rows, batch_size=500)
            copied[model._meta.label] = len(rows)
        connection.check_constraints()
    return {"copied": copied}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=("copy",), nargs="?", default="copy")
    parser.add_argument("--source-url", help=f"default: ${SOURCE_VAR}")
    parser.add_argument("--database-url", help=f"target; default: ${djangoenv.URL_VAR}")
    args = parser.parse_args(argv)
    if args.source_url:
        os.environ[SOURCE_VAR] = args.source_url
    if not os.environ.get(SOURCE_VAR):
        raise SystemExit(f"give --source-url or set {SOURCE_VAR}")
    djangoenv.setup(args.database_url)
    djangoenv.emit(_copy())
    return 0


if __name__ == "__main__":
    sys.exit(main())
