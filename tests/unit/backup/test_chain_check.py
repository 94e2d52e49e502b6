"""check_chains: what each full backup lacks of its binlog epoch, the holes per epoch, the
numbering resets. Verify and the data-state page both judge the chain by it, so it must agree
with what a restore does: over random histories (resets, files deleted from storage, the
newest shipped file gone, an epoch deleted), a "latest" restore from a backup fails naming the
first file check_chains says it lacks, and succeeds exactly when it lacks none."""
from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backup_builders import T0, binlog, epoch_of, epochs, full, hourly_binlogs
from mysql_backup.chain import check_chains, plan_restore
from mysql_backup.errors import BackupChainBroken
from mysql_backup.manifest import RestoreBreak, iso

EPOCH_IDS = ["20260101T000000Z", "20260201T000000Z", "20260301T000000Z"]


@st.composite
def histories(draw):
    """One to three epochs (each a numbering from 1 after a reset), each shipped from some file
    to its newest, some files deleted from storage afterwards; full backups within each epoch at
    positions that never go back; sometimes an epoch's head is missing or the epoch is deleted."""
    made, fulls, day = {}, [], 0
    for epoch_id in EPOCH_IDS[:draw(st.integers(1, 3))]:
        base = T0 + timedelta(days=day)
        first, last = draw(st.integers(1, 4)), draw(st.integers(4, 12))
        files = [binlog(i, base + timedelta(hours=i), base + timedelta(hours=i + 1), epoch_id)
                 for i in range(first, last + 1)]
        epoch = epoch_of(files, epoch_id, head=draw(st.integers(0, 4)) > 0, began=base)
        for index in draw(st.sets(st.integers(first, last), max_size=4)):
            del epoch.binlogs[index]  # deleted from storage after shipping
        position = draw(st.integers(first, last))
        for n in range(draw(st.integers(0, 3))):
            position = min(last + 1, position + draw(st.integers(0, 3)))
            at = base + timedelta(hours=position, minutes=10 + n)
            fulls.append(full(f"{epoch_id[:8]}-{n}", at, (f"binlog.{position:06d}", 400), epoch=epoch_id))
        if draw(st.integers(0, 6)) > 0:
            made[epoch_id] = epoch
        day += 2
    return fulls, made


@settings(max_examples=300, deadline=None)
@given(histories())
def test_what_a_backup_lacks_is_what_its_restore_refuses(history):
    fulls, made = history
    checked = check_chains(fulls, made)
    assert [r.full for r in checked.reaches] == fulls
    newest_epoch = max(made, default=None)
    for reach in checked.reaches:
        if reach.epoch is None:
            assert reach.full.position.epoch not in made and not reach.missing
            continue
        assert not set(reach.missing) & set(reach.epoch.binlogs)
        if reach.epoch.id != newest_epoch:
            continue  # "latest" is refused naming the reset; nothing to compare
        if reach.missing:
            with pytest.raises(BackupChainBroken) as refused:
                plan_restore(fulls, made, backup_id=reach.full.backup_id)
            assert f"binlog {reach.names()[0]}" in str(refused.value)
        else:
            plan = plan_restore(fulls, made, backup_id=reach.full.backup_id)
            head = reach.epoch.head
            if head and head.last_shipped and plan.binlogs:
                assert plan.binlogs[-1].name == head.last_shipped  # reaches what the epoch says it holds
    in_gaps = {(g.epoch, f) for g in checked.gaps for f in g.files}
    lacked = {(r.epoch.id, name) for r in checked.reaches if r.epoch for name in r.names()}
    assert in_gaps == lacked
    for gap in checked.gaps:
        needing = {r.full.backup_id for r in checked.reaches
                   if r.epoch and r.epoch.id == gap.epoch and set(gap.files) & set(r.names())}
        assert set(gap.backups) == needing and gap.since is not None
    assert [(r.previous, r.epoch.id) for r in checked.resets] == list(zip(sorted(made), sorted(made)[1:]))


def test_a_gap_names_its_neighbours_times_and_the_backups_it_stops():
    chain = epoch_of(hourly_binlogs(3, 20))
    for index in (8, 9, 15):
        del chain.binlogs[index]
    fulls = [full("a", T0), full("b", T0 + timedelta(hours=10), ("binlog.000013", 4))]
    checked = check_chains(fulls, epochs(chain))
    assert [(g.files, g.backups) for g in checked.gaps] == [
        (("binlog.000008", "binlog.000009"), ("a",)), (("binlog.000015",), ("a", "b"))]
    first = checked.gaps[0]
    assert (first.since, first.until) == (chain.binlogs[7].last_event_at, chain.binlogs[10].first_event_at)
    assert [r.newest for r in checked.reaches] == [False, True]


def test_a_hole_at_a_backups_own_start_begins_at_that_backup():
    chain = epoch_of(hourly_binlogs(3, 8))
    del chain.binlogs[3]
    [gap] = check_chains([full("a", T0)], epochs(chain)).gaps
    assert (gap.files, gap.since, gap.until) == (("binlog.000003",), iso(T0), chain.binlogs[4].first_event_at)


def test_the_newest_shipped_file_deleted_with_its_manifest_is_a_gap_without_end():
    chain = epoch_of(hourly_binlogs(3, 8))
    del chain.binlogs[8]
    [gap] = check_chains([full("a", T0)], epochs(chain)).gaps
    assert (gap.files, gap.until, gap.newest_lost) == (("binlog.000008",), None, True)


def test_a_reset_is_unprotected_until_a_full_backup_starts_after_it():
    later = "20260305T000000Z"
    old = epoch_of(hourly_binlogs(3, 10))
    new = epoch_of(hourly_binlogs(1, 4, later), later, began=T0 + timedelta(days=4),
                   began_after={"epoch": old.id, "reason": "RESET MASTER"})
    [reset] = check_chains([full("a", T0)], epochs(old, new)).resets
    assert (reset.previous, reset.epoch.id, reset.reason, reset.unprotected) == (old.id, later, "RESET MASTER", True)
    after = full("b", T0 + timedelta(days=4, hours=2), ("binlog.000002", 4), epoch=later)
    [reset] = check_chains([full("a", T0), after], epochs(old, new)).resets
    assert not reset.unprotected
    assert check_chains([], epochs(old, new)).resets[0].unprotected is False  # no backup at all: nothing to say


def test_a_restore_over_itself_is_unprotected_until_a_newer_full_backup():
    crossed = RestoreBreak(server="srv", database="shop", at=iso(T0 + timedelta(hours=5)), backup_id="a",
                           reaches="latest")
    chain = epochs(epoch_of(hourly_binlogs(3, 10)))
    [crossing] = check_chains([full("a", T0)], chain, [crossed]).crossings
    assert crossing.unprotected
    [crossing] = check_chains([full("a", T0), full("b", T0 + timedelta(hours=6))], chain, [crossed]).crossings
    assert not crossing.unprotected
