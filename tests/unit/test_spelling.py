"""How times and JSON values are spelt: fast paths give what the slow ones would."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from craton import codec
from craton.projections.timeline import iso


def _isoformat_spelling(value: datetime) -> str:
    if value.tzinfo is None:
        return f"{value.isoformat()}Z"
    text = value.isoformat()
    return f"{text[:-6]}Z" if text.endswith("+00:00") else text


@given(st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31)),
       st.sampled_from([None, UTC, timezone(timedelta(hours=2)),
                        timezone(timedelta(hours=-5, minutes=-30))]))
def test_iso_spells_times_as_isoformat_does_with_z_for_utc(value: datetime,
                                                           tz: timezone | None) -> None:
    value = value.replace(tzinfo=tz)
    assert iso(value) == _isoformat_spelling(value)


def test_iso_examples() -> None:
    assert iso(None) is None
    assert iso(datetime(2026, 1, 2, 3, 4, 5)) == "2026-01-02T03:04:05Z"
    assert iso(datetime(2026, 1, 2, 3, 4, 5, 120, tzinfo=UTC)) == "2026-01-02T03:04:05.000120Z"
    assert iso(datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=2)))) \
        == "2026-01-02T03:04:05+02:00"


@given(st.recursive(
    st.none() | st.booleans() | st.integers() | st.text()
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner), max_leaves=12))
def test_json_values_come_back_as_written(value: object) -> None:
    text = json.dumps(value)  # long integers included: the standard spelling
    assert codec.loads(text) == json.loads(text)
    assert codec.loads(text.encode()) == json.loads(text)
    assert codec.loads(codec.dumps(value)) == json.loads(text)


def test_long_integers_are_not_read_as_floats() -> None:
    for number in (10**19, -(10**19), 2**64, -(2**63) - 1, 10**30):
        text = f'{{"n": {number}, "ip": "10.0.0.1"}}'
        assert codec.loads(text) == {"n": number, "ip": "10.0.0.1"}
        assert type(codec.loads(text)["n"]) is int


@given(st.lists(st.dictionaries(st.text(), st.integers() | st.text() | st.none()
                                | st.floats(allow_nan=False, allow_infinity=False),
                                max_size=4), max_size=6))
def test_objects_parsed_together_come_back_as_each_alone(objects: list[dict[str, object]]
                                                         ) -> None:
    members = [json.dumps(o)[1:-1] for o in objects]  # "key": value, ... (standard spelling)
    assert codec.loads_objects(members) == objects
    ints = [dict(o, n=2**70) for o in objects]
    parsed = codec.loads_objects([json.dumps(o)[1:-1] for o in ints])
    assert parsed == ints and all(type(o["n"]) is int for o in parsed)


@given(st.lists(st.recursive(
    st.none() | st.booleans() | st.integers() | st.text()
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner), max_leaves=8),
    max_size=6))
def test_values_parsed_together_come_back_as_each_alone(values: list[object]) -> None:
    texts = [json.dumps(v) for v in values]  # long integers included
    assert codec.loads_many(texts) == [json.loads(t) for t in texts]
    assert codec.loads_many([codec.dumps(v) for v in values]) == [json.loads(t) for t in texts]


class _Moment(datetime):
    """A datetime subclass (as time-freezing libraries hand out), which orjson refuses."""


def test_iso_spells_datetime_subclasses_alike() -> None:
    for tz in (None, UTC, timezone(timedelta(hours=2))):
        value = _Moment(2026, 1, 2, 3, 4, 5, 120, tzinfo=tz)
        assert iso(value) == _isoformat_spelling(value)
