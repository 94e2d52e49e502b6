"""Which epoch the server's binlogs belong to: proven by content or by the server run, never by
file names, sizes or GTIDs (all of which a reset numbering can repeat)."""
from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from backup_builders import EPOCH, INSTANCE, T0, binlog, epoch_of
from mysql_backup.catalog import Catalog
from mysql_backup.epochs import identify, new_epoch_id
from mysql_backup.manifest import Layout
from mysql_backup.server import ServerBinlog

SHIPPED = epoch_of([binlog(3, T0, T0 + timedelta(hours=1)),
                    binlog(4, T0 + timedelta(hours=1), T0 + timedelta(hours=2))])


def server(*numbers, size=1000):
    return [ServerBinlog(f"binlog.{n:06d}", size) for n in numbers]


def run(files, epoch=SHIPPED, instance=INSTANCE, gtid=None, digest=None):
    asked = []

    def tail(name, offset):
        asked.append((name, offset))
        return digest(name) if digest else f"{int(name.rsplit('.', 1)[1]):064x}"

    found = identify(instance, files, epoch, start_gtid=lambda name: gtid or f"[0-1-{int(name[-6:]) * 10}]",
                     tail_digest=tail)
    return found, asked


def test_the_newest_shipped_file_with_a_transaction_proves_it_byte_for_byte():
    found, asked = run(server(3, 4, 5, 6), instance=replace(INSTANCE, started_at=1))  # restarted: content decides
    assert found.epoch == EPOCH and "byte for byte" in found.how
    assert asked == [("binlog.000004", 600)]


@pytest.mark.parametrize("change, why", [
    (dict(digest=lambda name: "0" * 64), "holds other transactions"),
    (dict(gtid="[0-1-1]"), "starts at GTID state [0-1-1]"),
])
def test_a_namesake_with_other_content_is_a_new_epoch(change, why):
    found, _ = run(server(3, 4, 5), **change)
    assert found.epoch is None and why in found.how


def test_a_namesake_of_another_size_is_a_new_epoch_without_reading_it():
    found, asked = run(server(4, 5, size=999))
    assert found.epoch is None and "999 bytes" in found.how and asked == []


def test_without_a_shipped_file_the_same_server_run_proves_it():
    found, asked = run(server(9, 10))  # everything shipped was purged, no restart, no RESET
    assert found.epoch == EPOCH and "same server run" in found.how and asked == []


@pytest.mark.parametrize("instance, why", [
    (replace(INSTANCE, started_at=INSTANCE.started_at + 60), "the server restarted"),
    (replace(INSTANCE, resets=1), "RESET was executed"),
    (replace(INSTANCE, server_uid="other"), "another server answers"),
])
def test_without_a_shipped_file_a_restart_or_reset_is_a_new_epoch(instance, why):
    found, _ = run(server(1, 2), instance=instance)
    assert found.epoch is None and why in found.how and "no binlog with a transaction" in found.how


def test_files_without_transactions_prove_nothing():
    empty = epoch_of([replace(binlog(3, T0, T0), tail_offset=None, tail_sha256=None)])
    found, asked = run(server(3, 4), epoch=empty, instance=replace(INSTANCE, resets=2))
    assert found.epoch is None and asked == []


def test_nothing_stored_yet():
    assert run(server(1), epoch=None)[0].epoch is None


def test_new_epoch_ids_sort_after_every_existing_one():
    catalog = Catalog(Layout("srv"))
    assert new_epoch_id(catalog, T0) == "20260301T020000Z"
    catalog.epochs = {"20260301T020000Z": None}
    assert new_epoch_id(catalog, T0) == "20260301T020000Z-002"
    catalog.epochs["20260301T020000Z-002"] = None
    assert new_epoch_id(catalog, T0 - timedelta(days=1)) == "20260301T020000Z-003"  # the clock went back
    assert new_epoch_id(catalog, T0 + timedelta(seconds=1)) == "20260301T020001Z"
