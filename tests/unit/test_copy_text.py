"""Rows in PostgreSQL's COPY text format: every kind of value, NULLs and escapes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from sqlalchemy import JSON, Boolean, Column, DateTime, Integer, MetaData, String, Table

from craton.projections import bulk

TABLE = Table("copy_sample", MetaData(),
              Column("row_id", Integer, primary_key=True),
              Column("n", Integer), Column("flag", Boolean), Column("text", String),
              Column("doc", JSON), Column("at", DateTime(timezone=True)))
NOON = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def _lines(rows: list[dict[str, object]]) -> list[list[str]]:
    names, converts = bulk._plan(TABLE, "postgresql")
    assert names == ["n", "flag", "text", "doc", "at"]
    text = bulk.copy_text(rows, names, converts).getvalue()
    assert text.endswith("\n")
    return [line.split("\t") for line in text[:-1].split("\n")]


def test_each_kind_of_value_and_null() -> None:
    rows: list[dict[str, object]] = [
        {"n": 7, "flag": True, "text": "plain", "doc": {"a": [1, None]}, "at": NOON},
        {"n": None, "flag": False, "text": None, "doc": None, "at": None},
        {"n": -3, "flag": None, "text": "", "doc": "x", "at": NOON},
    ]
    assert _lines(rows) == [
        ["7", "t", "plain", '{"a":[1,null]}', "2025-03-01 12:00:00+00:00"],
        ["\\N", "f", "\\N", "\\N", "\\N"],
        ["-3", "\\N", "", '"x"', "2025-03-01 12:00:00+00:00"],
    ]


def test_text_that_would_break_a_line_or_a_column_is_escaped() -> None:
    rows: list[dict[str, object]] = [
        {"n": 1, "flag": True, "text": "tab\there", "doc": {"k": "a\\b"}, "at": NOON},
        {"n": 2, "flag": True, "text": "line\nbreak\rreturn", "doc": [], "at": NOON},
        {"n": 3, "flag": True, "text": "\\N", "doc": {}, "at": NOON},
    ]
    lines = _lines(rows)
    assert [line[2] for line in lines] == ["tab\\there", "line\\nbreak\\rreturn", "\\\\N"]
    assert lines[0][3] == '{"k":"a\\\\\\\\b"}'  # JSON's escaped backslash, escaped for COPY


def test_a_time_is_the_same_instant_whichever_zone_spelled_it() -> None:
    east = NOON.astimezone(timezone(timedelta(hours=5, minutes=30)))
    later = NOON + timedelta(microseconds=1)
    texts = bulk.PG_TIMES.column([NOON, None, east, later])
    assert texts[1] is None
    assert [datetime.fromisoformat(t) for t in (texts[0], texts[2], texts[3]) if t] \
        == [NOON, NOON, later]
    alone = bulk.PG_TIMES.column([east])[0]
    assert alone is not None and datetime.fromisoformat(alone) == NOON


def test_sqlite_times_are_spelled_in_utc_without_an_offset() -> None:
    east = NOON.astimezone(timezone(timedelta(hours=5, minutes=30)))
    assert bulk.SQLITE_TIMES.column([east, None, NOON]) == [
        "2025-03-01 12:00:00.000000", None, "2025-03-01 12:00:00.000000"]


def test_kept_time_texts_are_bounded_and_keep_the_times_written_again() -> None:
    texts = bulk.TimeTexts(str, per_generation=3, keep_from=1)
    start = datetime(2020, 1, 1, tzinfo=UTC)
    created = start - timedelta(days=1)  # written again in every version of a row
    for i in range(20):
        later = start + timedelta(seconds=i)
        assert texts.column([created, later, None]) == [str(created), str(later), None]
        assert len(texts) <= 6
    assert created in texts.young or created in texts.old
    assert start not in texts.young and start not in texts.old  # written once, long ago


def test_the_few_times_of_a_live_change_are_spelled_and_not_kept() -> None:
    texts = bulk.TimeTexts(str, keep_from=64)
    assert texts.column([NOON, None]) == [str(NOON), None]
    assert len(texts) == 0
    assert texts.column([NOON] * 64) == [str(NOON)] * 64
    assert len(texts) == 1


def test_each_distinct_time_of_a_column_is_spelled_once_and_kept() -> None:
    spelled: list[datetime] = []

    def spell(value: datetime) -> str:
        spelled.append(value)
        return str(value)

    texts = bulk.TimeTexts(spell, per_generation=4, keep_from=1)
    a, b, c = (NOON + timedelta(seconds=s) for s in range(3))
    assert texts.column([a, None, a, b, a]) == [str(a), None, str(a), str(b), str(a)]
    assert sorted(spelled) == [a, b]
    assert texts.column([b, c, None]) == [str(b), str(c), None]  # b kept, c new
    assert sorted(spelled) == [a, b, c]
    d, e = NOON + timedelta(hours=1), NOON + timedelta(hours=2)
    texts.column([d, e])  # would overfill the young generation: it becomes the old one
    assert set(texts.old) == {a, b, c} and set(texts.young) == {d, e}
    assert texts.column([a, d]) == [str(a), str(d)]  # a found in the old generation
    assert a in texts.young and sorted(spelled) == [a, b, c, d, e]
