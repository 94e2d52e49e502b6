"""Retention over random histories: never delete what a kept full backup needs, always keep the
newest complete full backup, and decide by need, never by age alone."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from mysql_backup.chain import BinlogEntry, FullEntry, Leftover, plan_retention

NOW = datetime(2026, 6, 30, tzinfo=timezone.utc)


@st.composite
def histories(draw):
    """Fulls taken over ~90 days, each starting at a binlog number that never decreases, some
    without binlog; binlogs shipped from some number up to the newest; a few leftovers."""
    count = draw(st.integers(0, 12))
    offsets = sorted(draw(st.lists(st.integers(0, 90 * 24), min_size=count, max_size=count)), reverse=True)
    fulls, index = [], draw(st.integers(1, 5))
    for number, hours_ago in enumerate(offsets):
        index += draw(st.integers(0, 4))
        has_binlog = draw(st.booleans()) or number % 3 == 0
        fulls.append(FullEntry(f"b{number:03d}", NOW - timedelta(hours=hours_ago),
                               ("binlog", index) if has_binlog else None, draw(st.sampled_from(["shop", "crm"]))))
    first = draw(st.integers(1, 4))
    binlogs = [BinlogEntry(f"binlog.{i:06d}") for i in range(first, index + draw(st.integers(1, 5)))]
    leftovers = [Leftover(f"backup x{i}", NOW - timedelta(hours=draw(st.integers(0, 200)))) for i in
                 range(draw(st.integers(0, 3)))]
    return fulls, binlogs, leftovers, draw(st.integers(1, 40))


def apply(plan, fulls, binlogs, leftovers):
    return ([f for f in fulls if f.backup_id not in plan.delete_fulls],
            [b for b in binlogs if b.name not in plan.delete_binlogs],
            [x for x in leftovers if x.label not in plan.delete_leftovers])


@settings(max_examples=400, deadline=None)
@given(histories())
def test_retention_keeps_everything_a_kept_backup_needs(history):
    fulls, binlogs, leftovers, days = history
    plan = plan_retention(fulls, binlogs, leftovers, now=NOW, keep_days=days)
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

    # Never delete a binlog a kept full backup needs.
    for full in kept:
        if full.start:
            for binlog in binlogs:
                if binlog.base_index[1] >= full.start[1]:
                    assert binlog.name not in plan.delete_binlogs
    # A binlog goes only when a kept backup starts after it (no kept backup with a binlog: keep all).
    starts = [f.start[1] for f in kept if f.start]
    for name in plan.delete_binlogs:
        assert starts and int(name.rsplit(".", 1)[1]) < min(starts)

    # Leftovers go only when old enough and superseded by a complete backup.
    for label in plan.delete_leftovers:
        leftover = next(x for x in leftovers if x.label == label)
        assert leftover.modified < NOW - timedelta(hours=48)
        assert any(f.finished_at > leftover.modified for f in fulls)

    # Applying the plan and planning again deletes nothing more: the plan is a fixed point.
    again = plan_retention(*apply(plan, fulls, binlogs, leftovers), now=NOW, keep_days=days)
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
        assert all(b.base_index[1] < newest.start[1] for b in binlogs if b.name in plan.delete_binlogs)
    else:
        assert not plan.delete_binlogs
