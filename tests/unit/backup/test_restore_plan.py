"""Which backup and which binlogs a restore uses, and when it must refuse (and say why)."""
from __future__ import annotations

from datetime import timedelta, timezone

import pytest

from backup_builders import EPOCH, T0, epoch_of, epochs, full, hourly_binlogs
from mysql_backup.chain import plan_restore, shipping_gap
from mysql_backup.errors import BackupChainBroken, PitrOutOfRange
from mysql_backup.manifest import BinlogPosition

LATER = "20260301T070000Z"


def names(plan):
    return [b.name for b in plan.binlogs]


def chain(first, last, **kw):
    return epochs(epoch_of(hourly_binlogs(first, last), **kw))


def test_latest_uses_newest_full_and_whole_chain_from_its_file():
    fulls = [full("a", T0 - timedelta(days=1), ("binlog.000001", 10)), full("b", T0)]
    plan = plan_restore(fulls, chain(1, 6))
    assert plan.full.backup_id == "b"
    assert names(plan) == ["binlog.000003", "binlog.000004", "binlog.000005", "binlog.000006"]
    assert plan.stop_datetime is None and plan.stop_position is None


def test_point_in_time_picks_full_before_it_and_only_needed_binlogs():
    fulls = [full("a", T0), full("b", T0 + timedelta(hours=3), ("binlog.000006", 99))]
    target = T0 + timedelta(hours=2, minutes=30, seconds=5, microseconds=700)
    plan = plan_restore(fulls, chain(1, 9), target_time=target)
    assert plan.full.backup_id == "a"
    # binlog 5 opened at T0+2h < target; binlog 6 opened at T0+3h, after it.
    assert names(plan) == ["binlog.000003", "binlog.000004", "binlog.000005"]
    assert plan.stop_datetime == target.replace(microsecond=0)


@pytest.mark.parametrize("offset", [timedelta(hours=1), timedelta(hours=-5), timedelta(hours=5, minutes=45)])
def test_a_target_with_an_offset_is_the_same_instant_in_utc(offset):
    """The plan's stop time is what mariadb-binlog gets: it must be the UTC wall clock."""
    target = T0 + timedelta(hours=2, minutes=30)
    plan = plan_restore([full("a", T0)], chain(1, 9), target_time=target.astimezone(timezone(offset)))
    assert plan.stop_datetime.utcoffset() == timedelta(0) and plan.stop_datetime == target
    assert "2026-03-01 04:30:00 UTC" in plan.reaches
    naive = plan_restore([full("a", T0)], chain(1, 9), target_time=target.replace(tzinfo=None))
    assert naive.stop_datetime == plan.stop_datetime  # a time without offset is UTC


def test_a_full_taken_in_the_target_second_is_not_used():
    """The dump may hold events of that second after the target: take the previous backup."""
    fulls = [full("a", T0), full("b", T0 + timedelta(hours=1, microseconds=300), ("binlog.000004", 5))]
    plan = plan_restore(fulls, chain(3, 6), target_time=T0 + timedelta(hours=1, microseconds=900))
    assert plan.full.backup_id == "a"


def test_hole_in_chain_is_chain_broken_naming_files_and_window():
    binlogs = hourly_binlogs(3, 8)
    del binlogs["binlog.000005"], binlogs["binlog.000006"]
    with pytest.raises(BackupChainBroken) as caught:
        plan_restore([full("a", T0)], epochs(epoch_of(binlogs)))
    text = str(caught.value)
    assert caught.value.code == "BACKUP_CHAIN_BROKEN"
    assert "binlog.000005 to binlog.000006" in text
    assert "2026-03-01 04:00:00 UTC" in text  # binlog 4 closed: recovery possible up to here
    assert "2026-03-01 06:00:00 UTC" in text  # binlog 7 opened: possible again from here


def test_a_time_inside_a_gap_names_the_gap_not_the_binlog_backup():
    binlogs = hourly_binlogs(3, 8)
    del binlogs["binlog.000005"], binlogs["binlog.000006"]
    with pytest.raises(BackupChainBroken) as caught:  # binlog 5 would cover T0+2h..T0+3h
        plan_restore([full("a", T0)], epochs(epoch_of(binlogs)), target_time=T0 + timedelta(hours=2, minutes=30))
    text = str(caught.value)
    assert "binlog.000005 to binlog.000006" in text and "2026-03-01 04:30:00 UTC cannot be reached" in text
    assert "restore to a time before the gap" in text and "run the binlog backup" not in text


def test_point_in_time_before_the_hole_still_works():
    binlogs = hourly_binlogs(3, 8)
    del binlogs["binlog.000006"]
    plan = plan_restore([full("a", T0)], epochs(epoch_of(binlogs)), target_time=T0 + timedelta(hours=1, minutes=10))
    assert names(plan) == ["binlog.000003", "binlog.000004"]


def test_missing_first_binlog_is_chain_broken():
    with pytest.raises(BackupChainBroken, match="binlog.000003"):
        plan_restore([full("a", T0)], chain(4, 6))


def test_newest_binlog_deleted_with_its_manifest_is_named():
    """The epoch's head still says what was shipped last: 'latest' must not stop short silently."""
    made = epoch_of(hourly_binlogs(3, 6))
    del made.binlogs[6]
    with pytest.raises(BackupChainBroken, match="binlog.000006 missing"):
        plan_restore([full("a", T0)], epochs(made))
    with pytest.raises(BackupChainBroken, match="binlog.000006 missing"):
        plan_restore([full("a", T0)], epochs(made), target_time=T0 + timedelta(hours=3, minutes=30))


def test_a_backup_whose_epoch_was_deleted_is_refused_except_for_its_dump():
    with pytest.raises(BackupChainBroken, match=f"binlog epoch {EPOCH} of backup a is missing from the storage"):
        plan_restore([full("a", T0)], {})
    seed = plan_restore([full("a", T0)], {}, dump_only=True)  # seeding a replica needs the dump alone
    assert seed.binlogs == [] and seed.full.position.file == "binlog.000003"


def test_target_beyond_shipped_chain_is_out_of_range():
    with pytest.raises(PitrOutOfRange, match="after the end of the shipped binlog chain.*run the binlog backup"):
        plan_restore([full("a", T0)], chain(3, 5), target_time=T0 + timedelta(hours=3, minutes=1))


def test_target_before_every_full_is_out_of_range():
    with pytest.raises(PitrOutOfRange, match="no full backup was taken before"):
        plan_restore([full("a", T0)], chain(3, 5), target_time=T0 - timedelta(minutes=1))


def test_full_without_binlog_restores_only_itself():
    plain = full("a", T0, position=None)
    assert plan_restore([plain], {}).binlogs == []
    with pytest.raises(PitrOutOfRange, match="without a binary log"):
        plan_restore([plain], {}, target_time=T0 + timedelta(hours=1))


def test_latest_without_shipped_binlogs_is_the_dump_itself():
    plan = plan_restore([full("a", T0)], chain(1, 2))
    assert plan.binlogs == [] and "no binlog shipped" in plan.reaches
    with pytest.raises(PitrOutOfRange, match="no binlog shipped since backup a"):
        plan_restore([full("a", T0)], chain(1, 2), target_time=T0 + timedelta(minutes=5))


def test_explicit_backup_id_and_unknown_id():
    fulls = [full("a", T0), full("b", T0 + timedelta(hours=1), ("binlog.000004", 7))]
    assert plan_restore(fulls, chain(3, 6), backup_id="a").full.backup_id == "a"
    with pytest.raises(PitrOutOfRange, match="no complete backup 'zz'"):
        plan_restore(fulls, {}, backup_id="zz")


def test_stop_at_position_for_drills():
    plan = plan_restore([full("a", T0)], chain(3, 7), stop_at=BinlogPosition("binlog.000004", 777, epoch=EPOCH))
    assert names(plan) == ["binlog.000003", "binlog.000004"] and plan.stop_position == 777


# --- a binlog numbering reset: the same file names in a later epoch ---------------------------

def reset_history():
    """Epoch 1: binlogs 3..6 after backup a. Reset: epoch 2 repeats binlog 1..4 from T0+5h."""
    old = epoch_of(hourly_binlogs(3, 6))
    new_files = [b for b in hourly_binlogs(8, 11, LATER).values()]
    renamed = {f"binlog.{i:06d}": m.__class__(**{**m.__dict__, "name": f"binlog.{i:06d}"})
               for i, m in zip(range(1, 5), new_files)}
    new = epoch_of(renamed, LATER, began=T0 + timedelta(hours=5),
                   began_after={"epoch": EPOCH, "reason": "binlog.000003 on the server holds other transactions"})
    return old, new


def test_latest_from_a_backup_before_a_reset_fails_naming_it():
    old, new = reset_history()
    with pytest.raises(BackupChainBroken) as caught:
        plan_restore([full("a", T0)], epochs(old, new))
    text = str(caught.value)
    assert "binlog numbering was reset" in text and LATER in text and "holds other transactions" in text
    assert "2026-03-01 06:00:00 UTC" in text  # where the old chain ends


def test_point_in_time_around_a_reset():
    old, new = reset_history()
    before = plan_restore([full("a", T0)], epochs(old, new), target_time=T0 + timedelta(hours=2, minutes=30))
    assert names(before) == ["binlog.000003", "binlog.000004", "binlog.000005"]
    assert all(b.epoch == EPOCH for b in before.binlogs)  # never the new epoch's namesakes
    with pytest.raises(BackupChainBroken, match="binlog numbering was reset"):
        plan_restore([full("a", T0)], epochs(old, new), target_time=T0 + timedelta(hours=6))
    # A backup taken in the new epoch restores from the new epoch's files only.
    after = full("b", T0 + timedelta(hours=5, minutes=10), ("binlog.000002", 50), epoch=LATER)
    plan = plan_restore([full("a", T0), after], epochs(old, new))
    assert names(plan) == ["binlog.000002", "binlog.000003", "binlog.000004"]
    assert {b.epoch for b in plan.binlogs} == {LATER}


@pytest.mark.parametrize("last, needed, oldest, expected", [
    (None, None, 1, []),          # nothing shipped, no backup: start wherever the server is
    (5, None, 6, []),             # contiguous
    (5, 3, 9, [6, 7, 8]),         # 6..8 purged before shipping
    (None, 3, 5, [3, 4]),         # the first backup needs 3, the server kept only 5 on
    (None, 3, 2, []),
])
def test_shipping_gap(last, needed, oldest, expected):
    assert shipping_gap(last, needed, oldest) == expected
