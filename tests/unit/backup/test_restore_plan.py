"""Which backup and which binlogs a restore uses, and when it must refuse."""
from __future__ import annotations

from datetime import timedelta

import pytest

from backup_builders import T0, full, hourly_binlogs
from mysql_backup.chain import plan_restore, shipping_gap
from mysql_backup.errors import BackupChainBroken, PitrOutOfRange
from mysql_backup.manifest import BinlogPosition


def names(plan):
    return [b.name for b in plan.binlogs]


def test_latest_uses_newest_full_and_whole_chain_from_its_file():
    fulls = [full("a", T0 - timedelta(days=1), ("binlog.000001", 10)), full("b", T0)]
    plan = plan_restore(fulls, hourly_binlogs(1, 6))
    assert plan.full.backup_id == "b"
    assert names(plan) == ["binlog.000003", "binlog.000004", "binlog.000005", "binlog.000006"]
    assert plan.stop_datetime is None and plan.stop_position is None


def test_point_in_time_picks_full_before_it_and_only_needed_binlogs():
    fulls = [full("a", T0), full("b", T0 + timedelta(hours=3), ("binlog.000006", 99))]
    target = T0 + timedelta(hours=2, minutes=30, seconds=5, microseconds=700)
    plan = plan_restore(fulls, hourly_binlogs(1, 9), target_time=target)
    assert plan.full.backup_id == "a"
    # binlog 5 opened at T0+2h < target; binlog 6 opened at T0+3h, after it.
    assert names(plan) == ["binlog.000003", "binlog.000004", "binlog.000005"]
    assert plan.stop_datetime == target.replace(microsecond=0)


def test_a_full_taken_in_the_target_second_is_not_used():
    """The dump may hold events of that second after the target: take the previous backup."""
    fulls = [full("a", T0), full("b", T0 + timedelta(hours=1, microseconds=300), ("binlog.000004", 5))]
    plan = plan_restore(fulls, hourly_binlogs(3, 6), target_time=T0 + timedelta(hours=1, microseconds=900))
    assert plan.full.backup_id == "a"


def test_hole_in_chain_is_chain_broken_naming_files_and_window():
    chain = hourly_binlogs(3, 8)
    del chain["binlog.000005"], chain["binlog.000006"]
    with pytest.raises(BackupChainBroken) as caught:
        plan_restore([full("a", T0)], chain)
    text = str(caught.value)
    assert caught.value.code == "BACKUP_CHAIN_BROKEN"
    assert "binlog.000005 to binlog.000006" in text
    assert "2026-03-01 04:00:00 UTC" in text  # binlog 4 closed: recovery possible up to here
    assert "2026-03-01 06:00:00 UTC" in text  # binlog 7 opened: possible again from here


def test_point_in_time_before_the_hole_still_works():
    chain = hourly_binlogs(3, 8)
    del chain["binlog.000006"]
    plan = plan_restore([full("a", T0)], chain, target_time=T0 + timedelta(hours=1, minutes=10))
    assert names(plan) == ["binlog.000003", "binlog.000004"]


def test_missing_first_binlog_is_chain_broken():
    chain = hourly_binlogs(4, 6)
    with pytest.raises(BackupChainBroken, match="binlog.000003"):
        plan_restore([full("a", T0)], chain)


def test_target_beyond_shipped_chain_is_out_of_range():
    with pytest.raises(PitrOutOfRange, match="after the end of the shipped binlog chain"):
        plan_restore([full("a", T0)], hourly_binlogs(3, 5), target_time=T0 + timedelta(hours=3, minutes=1))


def test_target_before_every_full_is_out_of_range():
    with pytest.raises(PitrOutOfRange, match="no full backup was taken before"):
        plan_restore([full("a", T0)], hourly_binlogs(3, 5), target_time=T0 - timedelta(minutes=1))


def test_full_without_binlog_restores_only_itself():
    plain = full("a", T0, position=None)
    assert plan_restore([plain], {}).binlogs == []
    with pytest.raises(PitrOutOfRange, match="without a binary log"):
        plan_restore([plain], {}, target_time=T0 + timedelta(hours=1))


def test_latest_without_shipped_binlogs_is_the_dump_itself():
    plan = plan_restore([full("a", T0)], hourly_binlogs(1, 2))
    assert plan.binlogs == [] and "no binlog shipped" in plan.reaches


def test_explicit_backup_id_and_unknown_id():
    fulls = [full("a", T0), full("b", T0 + timedelta(hours=1), ("binlog.000004", 7))]
    assert plan_restore(fulls, hourly_binlogs(3, 6), backup_id="a").full.backup_id == "a"
    with pytest.raises(PitrOutOfRange, match="no complete backup 'zz'"):
        plan_restore(fulls, {}, backup_id="zz")


def test_stop_at_position_for_drills():
    plan = plan_restore([full("a", T0)], hourly_binlogs(3, 7), stop_at=BinlogPosition("binlog.000004", 777))
    assert names(plan) == ["binlog.000003", "binlog.000004"] and plan.stop_position == 777


@pytest.mark.parametrize("last, needed, oldest, expected", [
    (None, None, 1, []),          # nothing shipped, no backup: start wherever the server is
    (5, None, 6, []),             # contiguous
    (5, 3, 9, [6, 7, 8]),         # 6..8 purged before shipping
    (None, 3, 5, [3, 4]),         # the first backup needs 3, the server kept only 5 on
    (None, 3, 2, []),
])
def test_shipping_gap(last, needed, oldest, expected):
    assert shipping_gap(last, needed, oldest) == expected
