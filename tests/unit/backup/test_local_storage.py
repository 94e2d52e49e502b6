"""An object is visible only once committed; interrupted writes stay out of sight."""
from __future__ import annotations

import pytest

from mysql_backup.storage import LocalStorage


def test_commit_makes_visible_abort_leaves_nothing(tmp_path):
    storage = LocalStorage(tmp_path)
    writer = storage.writer("srv/full/1/db.sql.zst.age")
    writer.write(b"abc")
    assert storage.list("srv/") == [] and storage.stat("srv/full/1/db.sql.zst.age") is None
    assert [i.key for i in storage.incomplete("srv/")][0].startswith("srv/full/1/.db.sql.zst.age.partial-")
    writer.commit()
    assert [(i.key, i.size) for i in storage.list("srv/")] == [("srv/full/1/db.sql.zst.age", 3)]
    other = storage.writer("srv/full/2/x")
    other.write(b"zz")
    other.abort()
    assert storage.incomplete("srv/") == [] and not (tmp_path / "srv/full/2/x").exists()


def test_delete_prunes_empty_directories_and_keys_are_confined(tmp_path):
    storage = LocalStorage(tmp_path)
    storage.put_bytes("srv/full/1/manifest.json", b"{}")
    storage.delete("srv/full/1/manifest.json")
    assert not (tmp_path / "srv").exists() and tmp_path.exists()
    with pytest.raises(ValueError):
        storage.writer("../escape")
    with pytest.raises(FileNotFoundError):
        storage.open_read("srv/none")
