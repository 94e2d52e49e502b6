"""Binlog shipping: every closed binlog once, checked, and a purged one reported as a gap."""
from __future__ import annotations

import pytest

from backup_support import fill, shipped
from mysql_backup.binlog_ship import ship_binlogs
from mysql_backup.errors import BackupChainBroken
from mysql_backup.full_backup import take_full_backup
from mysql_backup.manifest import human, parse_iso

pytestmark = pytest.mark.integration


def test_ships_every_closed_binlog_once(source, storage, age_key):
    fill(source, rows=500)
    take_full_backup(source.access, storage, age_key, server="src")
    with_backup = set(shipped(storage))  # the first backup starts the chain with its own binlog
    source.sql("INSERT INTO orders VALUES (100001, 'x', 1, NULL, NOW())")
    first = ship_binlogs(source.access, storage, age_key, server="src")
    assert first.shipped and first.already_shipped == len(with_backup) and not with_backup & set(first.shipped)
    on_server = source.binlogs()
    assert first.shipped[-1] == on_server[-2]  # flushed: everything but the new empty file
    # Every binlog object and manifest stays as written; only the epoch's head moves on.
    objects_before = {i.key: i.modified for i in storage.list("src/binlog/") if not i.key.endswith("/epoch.json")}

    rerun = ship_binlogs(source.access, storage, age_key, server="src")
    assert rerun.shipped == [on_server[-1]]  # only the file the first run's flush closed
    assert rerun.already_shipped == len(first.shipped) + len(with_backup)
    after = {i.key: i.modified for i in storage.list("src/binlog/")}
    assert all(after[key] == modified for key, modified in objects_before.items())  # nothing rewritten

    binlogs = shipped(storage)
    for name in first.shipped:
        manifest = binlogs[name]
        assert manifest.size == dict(source.sql("SHOW BINARY LOGS", None))[name]
        assert manifest.first_event_at <= manifest.last_event_at


def test_binlog_purged_before_shipping_is_a_gap_with_its_time_window(source, storage, age_key):
    fill(source, rows=100)
    take_full_backup(source.access, storage, age_key, server="src")
    ship_binlogs(source.access, storage, age_key, server="src")
    last_shipped = max(shipped(storage).values(), key=lambda m: m.index)
    for value in range(3):  # three binlogs the shipper never sees
        source.sql(f"INSERT INTO orders VALUES ({200000 + value}, 'lost', 1, NULL, NOW())")
        source.sql("FLUSH BINARY LOGS", None)
    lost = source.binlogs()[-4:-1]
    source.purge_to(source.binlogs()[-1])

    with pytest.raises(BackupChainBroken) as caught:
        ship_binlogs(source.access, storage, age_key, server="src")
    message = str(caught.value)
    assert caught.value.code == "BACKUP_CHAIN_BROKEN"
    assert f"{lost[0]} to {lost[-1]}" in message or lost[0] in message
    assert human(parse_iso(last_shipped.last_event_at)) in message  # recoverable up to here...
    # ...and what was still on the server was shipped anyway before failing.
    assert source.binlogs()[-2] in shipped(storage)

    # The gap was reported once; the next run ships normally.
    assert ship_binlogs(source.access, storage, age_key, server="src").shipped


def test_nothing_needed_before_the_first_backup_is_shipped(source, storage, age_key):
    fill(source, rows=10)
    source.sql("FLUSH BINARY LOGS", None)
    source.sql("FLUSH BINARY LOGS", None)
    backup = take_full_backup(source.access, storage, age_key, server="src")
    report = ship_binlogs(source.access, storage, age_key, server="src")
    assert report.not_needed and all(name < backup.position.file for name in report.not_needed)
    assert backup.position.file in shipped(storage)
    assert all(name >= backup.position.file for name in shipped(storage))


def test_reset_binlog_numbering_is_refused(source, storage, age_key):
    fill(source, rows=10)
    ship_binlogs(source.access, storage, age_key, server="src")
    source.sql("RESET MASTER", None)
    source.sql("INSERT INTO orders VALUES (300000, 'after reset', 1, NULL, NOW())")
    with pytest.raises(BackupChainBroken, match="numbering was reset"):
        ship_binlogs(source.access, storage, age_key, server="src")
