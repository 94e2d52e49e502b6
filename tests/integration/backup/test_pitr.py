"""Point-in-time recovery: replay from the exact recorded position, stop at the requested second."""
from __future__ import annotations

from datetime import timedelta, timezone

import pytest

from backup_support import next_second
from mysql_backup.binlog_ship import ship_binlogs
from mysql_backup.errors import PitrOutOfRange
from mysql_backup.full_backup import take_full_backup
from mysql_backup.manifest import parse_point_in_time
from mysql_backup.restore import restore_backup
from mysql_common.errors import PermanentError

pytestmark = pytest.mark.integration


def markers(source, database):
    return [row[0] for row in source.sql("SELECT label FROM markers ORDER BY label", database)]


def test_restore_between_t2_and_t3_has_exactly_markers_1_and_2(source, storage, age_key, scratch_cleanup):
    # No key on purpose: a duplicated replay must show up as a duplicated row, not as an error.
    source.sql("CREATE TABLE markers (label varchar(10) NOT NULL, at datetime(6) NOT NULL)")
    source.sql("CREATE TRIGGER markers_upper BEFORE INSERT ON markers FOR EACH ROW "
               "SET NEW.label = UPPER(NEW.label)")
    first = take_full_backup(source.access, storage, age_key, server="src")
    source.sql("INSERT INTO markers VALUES ('m1', NOW(6))")
    ship_binlogs(source.access, storage, age_key, server="src")
    second = take_full_backup(source.access, storage, age_key, server="src")
    source.sql("ALTER TABLE markers ADD COLUMN note varchar(20) NULL")  # DDL replays into the copy too
    source.sql("INSERT INTO markers VALUES ('m2', NOW(6), 'after ddl')")
    target = next_second()
    next_second()
    source.sql("INSERT INTO markers VALUES ('m3', NOW(6), 'too late')")
    ship_binlogs(source.access, storage, age_key, server="src")

    scratch_cleanup += ["pitr_newest", "pitr_from_first"]
    report = restore_backup(source.access, storage, age_key, server="src", target_time=target,
                            target_database="pitr_newest")
    assert report.backup_id == second.backup_id
    assert markers(source, "pitr_newest") == ["M1", "M2"]
    assert source.scalar("SELECT note FROM markers WHERE label = 'M2'", "pitr_newest") == "after ddl"
    assert set(report.phases) == {"verify", "load", "replay"}

    # From the older backup the replay crosses more binlogs and starts at its own position.
    restore_backup(source.access, storage, age_key, server="src", backup_id=first.backup_id,
                   target_time=target, target_database="pitr_from_first")
    assert markers(source, "pitr_from_first") == ["M1", "M2"]
    # The source itself was never touched by the replays into renamed copies.
    assert markers(source, "shop") == ["M1", "M2", "M3"]
    assert source.scalar("SELECT COUNT(*) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = "
                         "'pitr_newest'", None) == 1


def test_a_point_in_time_in_any_offset_notation_restores_that_instant(source, storage, age_key, scratch_cleanup):
    """Markers committed at known UTC seconds; the same instant written as Z, +01:00, -05:00
    and without offset (UTC) restores exactly the markers before it. A positive offset read
    as UTC would replay past the target (the mistake recovered from); a negative one would
    drop good data."""
    source.sql("CREATE TABLE markers (label varchar(10) NOT NULL, at datetime NOT NULL)")
    take_full_backup(source.access, storage, age_key, server="src")
    source.sql("INSERT INTO markers VALUES ('before', UTC_TIMESTAMP())")
    target = next_second()
    next_second()
    source.sql("INSERT INTO markers VALUES ('after', UTC_TIMESTAMP())")
    ship_binlogs(source.access, storage, age_key, server="src")
    assert source.scalar("SELECT MAX(at) FROM markers WHERE label = 'before'") < target.replace(tzinfo=None)
    notations = {
        "z": target.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "plus": target.astimezone(timezone(timedelta(hours=1))).isoformat(),
        "minus": target.astimezone(timezone(timedelta(hours=-5))).isoformat(),
        "naive": target.strftime("%Y-%m-%d %H:%M:%S"),
    }
    for name, text in notations.items():
        scratch_cleanup.append(f"pitr_{name}")
        report = restore_backup(source.access, storage, age_key, server="src", target_time=parse_point_in_time(text),
                                target_database=f"pitr_{name}")
        assert markers(source, f"pitr_{name}") == ["before"], (name, text)
        assert report.reaches == f"everything committed before {target.strftime('%Y-%m-%d %H:%M:%S')} UTC"


def test_latest_reaches_the_end_of_the_shipped_chain(source, storage, age_key, scratch_cleanup):
    source.sql("CREATE TABLE markers (label varchar(10) NOT NULL)")
    take_full_backup(source.access, storage, age_key, server="src")
    for label in ("a", "b", "c"):
        source.sql(f"INSERT INTO markers VALUES ('{label}')")
        ship_binlogs(source.access, storage, age_key, server="src")
    source.sql("INSERT INTO markers VALUES ('late')")
    scratch_cleanup.append("latest_copy")
    restore_backup(source.access, storage, age_key, server="src", target_database="latest_copy")
    assert markers(source, "latest_copy") == ["a", "b", "c"]


def test_target_after_the_shipped_chain_is_refused(source, storage, age_key):
    source.sql("CREATE TABLE markers (label varchar(10) NOT NULL)")
    take_full_backup(source.access, storage, age_key, server="src")
    ship_binlogs(source.access, storage, age_key, server="src")
    next_second()
    later = next_second()
    with pytest.raises(PitrOutOfRange, match="after the end of the shipped binlog chain"):
        restore_backup(source.access, storage, age_key, server="src", target_time=later,
                       target_database="never_created")
    assert source.sql("SHOW DATABASES LIKE 'never_created'", None) == ()


@pytest.mark.parametrize("default_database, why", [
    ("shop", "names 'shop' explicitly, so replay into a renamed copy would change 'shop' itself"),
    (None, "runs without a default database, so replaying only 'shop' would drop it"),
])
def test_qualified_ddl_in_binlog_is_refused_before_applying(source, storage, age_key, default_database, why):
    source.sql("CREATE TABLE markers (label varchar(10) NOT NULL)")
    take_full_backup(source.access, storage, age_key, server="src")
    source.sql("ALTER TABLE shop.markers ADD COLUMN extra int NULL", default_database)
    ship_binlogs(source.access, storage, age_key, server="src")
    with pytest.raises(PermanentError, match=why):
        restore_backup(source.access, storage, age_key, server="src", target_database="renamed_copy")
    assert source.sql("SHOW DATABASES LIKE 'renamed_copy'", None) == ()


def test_a_comment_or_string_literal_naming_the_database_restores(source, storage, age_key, scratch_cleanup):
    """`shop.example.com` in a table comment or a string literal is text, not a reference to the
    database `shop`: renamed restores and the drill go through, in the dump and in the binlogs."""
    from mysql_backup.drill import run_drill

    source.sql("CREATE TABLE items (id int PRIMARY KEY, note varchar(40)) COMMENT 'mirror of shop.example.com'")
    source.sql("CREATE TRIGGER items_note BEFORE INSERT ON items FOR EACH ROW "
               "SET NEW.note = CONCAT(NEW.note, ' via shop.items')")
    take_full_backup(source.access, storage, age_key, server="src")
    source.sql("ALTER TABLE items /* was shop.items_old */ COMMENT 'mirror of shop.example.com, v2'")
    source.sql("INSERT INTO items VALUES (1, 'see shop.x')")
    ship_binlogs(source.access, storage, age_key, server="src")
    scratch_cleanup.append("items_copy")
    restore_backup(source.access, storage, age_key, server="src", target_database="items_copy")
    assert source.sql("SELECT id, note FROM items", "items_copy") == ((1, "see shop.x via shop.items"),)
    assert "v2" in source.scalar("SELECT TABLE_COMMENT FROM information_schema.TABLES WHERE TABLE_SCHEMA = "
                                 "'items_copy'", None)
    assert not run_drill(source.access, storage, age_key, server="src").problems


def test_existing_target_needs_explicit_overwrite_and_no_sessions(source, storage, age_key, scratch_cleanup):
    source.sql("CREATE TABLE markers (label varchar(10) NOT NULL)")
    source.sql("INSERT INTO markers VALUES ('old')")
    take_full_backup(source.access, storage, age_key, server="src")
    source.sql("CREATE DATABASE live_copy", None)
    source.sql("CREATE TABLE live_copy.keep (i int)", None)
    scratch_cleanup.append("live_copy")
    from mysql_common.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="already exists"):
        restore_backup(source.access, storage, age_key, server="src", target_database="live_copy")
    app = source.server.connect("live_copy")  # the application is still connected
    try:
        with pytest.raises(PermanentError, match="in use by 1 session"):
            restore_backup(source.access, storage, age_key, server="src", target_database="live_copy",
                           overwrite=True)
    finally:
        app.close()
    assert source.sql("SHOW TABLES", "live_copy") == (("keep",),)
    restore_backup(source.access, storage, age_key, server="src", target_database="live_copy", overwrite=True)
    assert markers(source, "live_copy") == ["old"]
    assert source.sql("SHOW TABLES", "live_copy") == (("markers",),)
