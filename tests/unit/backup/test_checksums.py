"""Table checksums from the dump stream: rows counted and hashed as they pass, whatever the
chunking, wherever the dump tool starts a new INSERT, in both dump formats."""
from __future__ import annotations

import pytest

from mysql_backup.checksums import DumpDigests, compare
from mysql_backup.manifest import TableChecksum

HEAD = b"/*M!999999\\- enable the sandbox mode */ \n-- MariaDB dump\nCREATE TABLE `empty` (`x` int);\n"
ROWS = [b"(1,'a),(b\\'c',0x00FF)", b"(2,NULL,NULL)", b"(3,'x\\n;\\n',0x)", b"(4,'),\\n(',0x01)"]


def dump(split_after: set[int], *, one_line: bool) -> bytes:
    """A new INSERT after the rows in split_after; rows one per line (mariadb-dump) or all on
    one line (mysqldump)."""
    head, glue = (b" VALUES ", b",") if one_line else (b" VALUES\n", b",\n")
    out, pending = [], []
    for n, row in enumerate(ROWS):
        pending.append(row)
        if n in split_after or n == len(ROWS) - 1:
            out.append(b"INSERT INTO `t`" + head + glue.join(pending) + b";\n")
            pending = []
    return HEAD + b"CREATE TABLE `t` (`id` int);\n" + b"".join(out) + b"-- Dump completed\n"


def mariadb(split_after: set[int]) -> bytes:
    return dump(split_after, one_line=False)


def mysql(split_after: set[int]) -> bytes:
    return dump(split_after, one_line=True)


def digest(data: bytes, size: int = 1 << 20) -> dict[str, TableChecksum]:
    digests = DumpDigests()
    for start in range(0, len(data), size):
        digests(memoryview(data)[start:start + size])
    return {t.table: t for t in digests.result()}


@pytest.mark.parametrize("form", [mariadb, mysql])
@pytest.mark.parametrize("size", [1, 2, 3, 7, 1 << 20])
@pytest.mark.parametrize("splits", [set(), {0}, {1, 2}])
def test_rows_and_digest_do_not_depend_on_chunks_or_statement_splits(form, size, splits):
    whole = digest(form(set()))
    got = digest(form(splits), size)
    assert got == whole
    assert got["t"].rows == 4 and got["empty"] == TableChecksum("empty", 0, whole["empty"].sha256)


def test_a_changed_value_or_a_lost_row_changes_the_checksum():
    base = digest(mariadb(set()))["t"]
    changed = mariadb(set()).replace(b"(2,NULL,NULL)", b"(2,NULL,0x00)")
    assert digest(changed)["t"].sha256 != base.sha256
    lost = mariadb(set()).replace(b",\n(2,NULL,NULL)", b"")
    assert digest(lost)["t"].rows == 3


def test_compare_names_every_difference():
    expected = [TableChecksum("a", 1, "x" * 64), TableChecksum("b", 2, "y" * 64)]
    assert compare(expected, expected) == []
    problems = compare(expected, [TableChecksum("a", 1, "z" * 64), TableChecksum("c", 0, "w" * 64)])
    assert problems == [
        "table a: 1 rows / SHA-256 zzzzzzzzzzzzzzzz..., the backup recorded 1 rows / SHA-256 xxxxxxxxxxxxxxxx...",
        "table b: missing after restore", "table c: not in the backup's checksums"]
