"""The statement splitter sees what the client sees, however the stream is cut into chunks."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from mysql_backup.sql_stream import SqlSplitter, tokens


def split(data: bytes, cuts: list[int] | None = None, *, rows: bool = True) -> list[tuple]:
    out: list[tuple] = []

    def on_rows(table, chunk, last):
        if out and out[-1][0] == "rows" and out[-1][1] == table and not out[-1][3]:
            out[-1] = ("rows", table, out[-1][2] + chunk, last)
        else:
            out.append(("rows", table, chunk, last))

    splitter = SqlSplitter(lambda text, delimiter: out.append(("sql", text, delimiter)),
                           rows=on_rows if rows else None)
    points = sorted({c % (len(data) + 1) for c in (cuts or [])} | {0, len(data)})
    for start, end in zip(points, points[1:]):
        splitter.feed(data[start:end])
    splitter.finish()
    return out


PIECES = [b"SELECT 1", b"'a;b'", b"'it''s;'", b"'esc\\';'", b'"dq;"', b"`bt``;`", b"-- c;\n", b"#h;\n",
          b"/* c; */", b"/*!50003 x */", b"/*M!100 y */", b"@v", b"@@x.y", b"-1", b"a/b", b"2*3", b"*/", b"--x",
          b"\n", b" ", b"shop.t", b"0x0A"]
INSERT = b"INSERT INTO `t``x` VALUES\n(1,'a;b\\'c'),\n(2,NULL);\n"


@st.composite
def streams(draw):
    parts = []
    for _ in range(draw(st.integers(0, 12))):
        choice = draw(st.integers(0, 9))
        if choice == 0:
            parts.append(b"\nDELIMITER ;;\n" + b" ".join(draw(st.lists(st.sampled_from(PIECES), max_size=6)))
                         + b";;\nDELIMITER ;\n")
        elif choice == 1:
            parts.append(INSERT)
        else:
            parts.append(b"".join(draw(st.lists(st.sampled_from(PIECES), max_size=6))) + b";\n")
    return b"".join(parts), draw(st.lists(st.integers(0, 10_000), max_size=40))


@settings(max_examples=600, deadline=None)
@given(streams())
def test_chunk_boundaries_change_nothing(case):
    data, cuts = case
    assert split(data, cuts) == split(data)
    assert split(data, cuts, rows=False) == split(data, rows=False)


def test_what_the_client_splits_and_what_it_does_not():
    data = (b"SELECT 'x;y', `a;b` -- c;\n;\n/*!50003 SET @a=1 */;\n/* c; */ SELECT 2;\n"
            b"DELIMITER ;;\nCREATE TRIGGER t BEGIN SET x=1; END;;\nDELIMITER ;\n" + INSERT + b"SELECT 3")
    assert split(data) == [
        ("sql", b"SELECT 'x;y', `a;b` -- c;\n", b";"),
        ("sql", b"/*!50003 SET @a=1 */", b";"),
        ("sql", b"SELECT 2", b";"),  # a leading plain comment is dropped
        ("sql", b"CREATE TRIGGER t BEGIN SET x=1; END", b";;"),
        ("rows", "t`x", b"\n(1,'a;b\\'c'),\n(2,NULL)", True),
        ("sql", b"SELECT 3", b";"),
    ]


def test_binlog_output_delimiter():
    data = b"/*!50530 SET @@SESSION.PSEUDO_SLAVE_MODE=1*/;\nDELIMITER /*!*/;\n# at 4\nuse `x`/*!*/;\nBEGIN\n/*!*/;\n"
    assert [p[1] for p in split(data, list(range(len(data))), rows=False)] == [
        b"/*!50530 SET @@SESSION.PSEUDO_SLAVE_MODE=1*/", b"use `x`", b"BEGIN\n"]


def test_tokens_tell_identifiers_from_strings_and_comments():
    kinds = [(k, v) for k, v in tokens(b"SELECT `a`.b, 'c.d' /* e.f */ -- g.h\n") if k != "ws"]
    assert kinds == [("word", b"SELECT"), ("ident", b"`a`"), ("other", b"."), ("word", b"b"), ("other", b","),
                     ("string", b"'c.d'"), ("comment", b"/* e.f */"), ("comment", b"-- g.h\n")]
