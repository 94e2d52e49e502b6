"""The demo shop's read/write router, in a real Django process over two SQLite files.

The "replica" is a copy of the primary's file taken after migrate: a row written afterwards is
on the primary only, which is exactly what replication lag looks like to the application.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "include" / "demo_shop"

# Django configures itself once per process: the checks run in a child interpreter.
SCRIPT = r"""
import json, shutil, sqlite3, sys

import django
from django.conf import settings

primary, replica, fresh = sys.argv[1:4]
sqlite = lambda name: {"ENGINE": "django.db.backends.sqlite3", "NAME": name}
settings.configure(
    INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "shop"],
    DATABASES={"default": sqlite(primary), "replica": sqlite(replica), "fresh": sqlite(fresh)},
    DATABASE_ROUTERS=["routers.PrimaryReplicaRouter"],
    DEFAULT_AUTO_FIELD="django.db.models.BigAutoField", USE_TZ=True)
django.setup()

from django.core.management import call_command
from django.db import connections, transaction

from routers import primary_reads
from shop.models import Tag

call_command("migrate", database="default", verbosity=0)
shutil.copyfile(primary, replica)  # the seeded replica
call_command("migrate", database="fresh", verbosity=0)
tag = Tag.objects.create(name="new")  # after the copy: not replicated yet
out = {
    "read_alias": Tag.objects.all().db,
    "write_alias": tag._state.db,
    "locking_read_alias": Tag.objects.select_for_update().db,
    "visible_plain": Tag.objects.filter(name="new").exists(),
    "fresh_tables": sorted(r[0] for r in sqlite3.connect(fresh).execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'shop_%'")),
}
with primary_reads():
    out["visible_pinned"] = Tag.objects.filter(name="new").exists()
out["visible_after_pin"] = Tag.objects.filter(name="new").exists()
with transaction.atomic():
    out["visible_in_transaction"] = Tag.objects.filter(name="new").exists()
    out["transaction_read_alias"] = Tag.objects.all().db
print(json.dumps(out))
"""


def test_reads_go_to_the_replica_writes_and_pinned_reads_to_the_primary(tmp_path):
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path / "primary.sqlite3"),
                           str(tmp_path / "replica.sqlite3"), str(tmp_path / "fresh.sqlite3")],
                          cwd=DEMO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-4000:]
    out = json.loads(proc.stdout)
    assert out["read_alias"] == "replica" and out["write_alias"] == "default"
    assert out["locking_read_alias"] == "default"  # SELECT ... FOR UPDATE belongs to the writer
    assert out["visible_plain"] is False  # read from the replica, which lags
    assert out["visible_pinned"] is True and out["visible_after_pin"] is False
    assert out["visible_in_transaction"] is True and out["transaction_read_alias"] == "default"
    assert out["fresh_tables"] == []  # migrate leaves a replica alone: it gets its schema by replication
