"""Retention over random histories, binlog numbering resets included: never delete what a kept
full backup needs, always keep the newest complete full backup, and decide by need, never by
age alone."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from mysql_backup.chain import BinlogEntry, FullEntry, Leftover, plan_retention

NOW = datetime(2026, 6, 30, tzinfo=timezone.utc)


@st.composite
def histories(draw):
    """Fulls taken over ~90 days, each starting at a binlog number that never decreases within
    its epoch, some without binlog; now and then a numbering reset starts a new epoch at 1;
    each epoch's binlogs shipped from some number up to its newest; a few leftovers."""
    count = draw(st.integers(0, 12))
    offsets = sorted(draw(st.lists(st.integers(0, 90 * 24), min_size=count, max_size=count)), reverse=True)
    fulls, epoch, index, ranges = [], 0, draw(st.integers(1, 5)), {0: draw(st.integers(1, 4))}
    tops = {}
    for number, hours_ago in enumerate(offsets):
        if draw(st.integers(0, 5)) == 0:  # RESET MASTER: new epoch, numbering from 1 again
            tops[epoch] = index + draw(st.integers(0, 3))
            epoch, index = epoch + 1, 1
            ranges[epoch] = draw(st.integers(1, 2))
        index += draw(st.integers(0, 4))
        has_binlog = draw(st.booleans()) or number % 3 == 0
        fulls.append(FullEntry(f"b{number:03d}", NOW - timedelta(hours=hours_ago),
                               (EPOCHS[epoch], index) if has_binlog else None,
                               draw(st.sampled_from(["shop", "crm"]))))
    tops[epoch] = index + draw(st.integers(1, 5))
    if draw(st.booleans()):  # a reset after the newest full: an epoch no full starts in yet
        epoch += 1
        ranges[epoch], tops[epoch] = 1, draw(st.integers(1, 4))
    binlogs = [BinlogEntry(EPOCHS[e], f"binlog.{i:06d}") for e in ranges for i in range(ranges[e], tops[e])]
    leftovers = [Leftover(f"backup x{i}", NOW - timedelta(hours=draw(st.integers(0, 200)))) for i in
                 range(draw(st.integers(0, 3)))]
    return fulls, binlogs, leftovers, draw(st.integers(1, 40))


EPOCHS = [f"2026010{n}T000000Z" for n in range(1, 10)] + [f"202601{n}T000000Z" for n in range(10, 30)]


def apply(plan, fulls, binlogs, leftovers):
    return ([f for f in fulls if f.backup_id not in plan.delete_fulls],
            [b for b in binlogs if (b.epoch, b.name) not in plan.delete_binlogs],
            [x for x in leftovers if x.label not in plan.delete_leftovers])


@settings(max_examples=400, deadline=None)
@given(histories())
def test_retention_keeps_everything_a_kept_backup_needs(history):
    fulls, binlogs, leftovers, days = history
    plan = plan_retention(fulls, binlogs, leftovers, now=NOW, keep_days=days,
                          epochs=sorted({b.epoch for b in binlogs}))
    cutoff = NOW - timedelta(days=days)
    kept = [f for f in fulls if f.backup_id not in plan.delete_fulls]
    assert set(plan.keep_fulls) | set(plan.delete_fulls) == {f.backup_id for f in fulls}
    assert not set(plan.keep_fulls) & set(plan.delete_fulls)

    for database in {f.database for f in fulls}:
        mine = [f for f in fulls if f.database == database]
        newest = max(mine, key=lambda f: (f.finished_at, f.backup_id))
        assert newest.backup_id in plan.keep_fulls
        # Recovery to the start of the window stays possible if it was possible before.
        if any(f.finished_at <= cutoff for f in mine):
            assert any(k.database == database and k.finished_at <= cutoff for k in kept)
    for full in fulls:
        if full.finished_at >= cutoff:
            assert full.backup_id in plan.keep_fulls
        if full.backup_id in plan.delete_fulls:
            # Deleted only because a newer kept backup of the same database replaces it.
            assert any(k.database == full.database and k.finished_at >= full.finished_at for k in kept)

    # Never delete a binlog a kept full backup needs: its epoch's, from its position on.
    for full in kept:
        if full.start:
            for binlog in binlogs:
                if binlog.epoch == full.start[0] and binlog.index >= full.start[1]:
                    assert (binlog.epoch, binlog.name) not in plan.delete_binlogs
    # A binlog goes only when a kept backup starts after it: later in its epoch, or in a later
    # epoch; the files of an epoch newer than every kept backup's stay (no kept backup with a
    # binlog: keep all).
    starts = [f.start for f in kept if f.start]
    for (epoch, name) in plan.delete_binlogs:
        index = int(name.rsplit(".", 1)[1])
        assert starts and any(e == epoch and index < i or e > epoch for e, i in starts)
        assert epoch <= max(e for e, _ in starts)
    # An epoch's head goes only with its last file, and never while a kept backup starts in it.
    remaining = {b.epoch for b in apply(plan, fulls, binlogs, leftovers)[1]}
    for epoch in plan.delete_epochs:
        assert epoch not in remaining and all(e != epoch for e, _ in starts)

    # Leftovers go only when old enough and superseded by a complete backup.
    for label in plan.delete_leftovers:
        leftover = next(x for x in leftovers if x.label == label)
        assert leftover.modified < NOW - timedelta(hours=48)
        assert any(f.finished_at > leftover.modified for f in fulls)

    # Applying the plan and planning again deletes nothing more: the plan is a fixed point.
    kept_fulls, kept_binlogs, kept_leftovers = apply(plan, fulls, binlogs, leftovers)
    again = plan_retention(kept_fulls, kept_binlogs, kept_leftovers, now=NOW, keep_days=days,
                           epochs=sorted({b.epoch for b in kept_binlogs}))
    assert again.empty


@given(histories())
@settings(max_examples=100, deadline=None)
def test_age_alone_never_deletes(history):
    """Ageing everything by years changes nothing while no newer backup exists."""
    fulls, binlogs, _, days = history
    if not fulls:
        return
    newest = max(fulls, key=lambda f: (f.finished_at, f.backup_id))
    lonely = [newest]
    plan = plan_retention(lonely, binlogs, [], now=NOW + timedelta(days=3650), keep_days=days)
    assert not plan.delete_fulls
    if newest.start:
        for binlog in binlogs:
            if (binlog.epoch, binlog.name) in plan.delete_binlogs:
                assert binlog.epoch < newest.start[0] or binlog.index < newest.start[1]
    else:
        assert not plan.delete_binlogs
