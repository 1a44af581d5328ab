"""Positions and moments: what ``as_of`` means in terms of rows."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import orjson
from sqlalchemy import ColumnElement, Connection, Select, Table, and_, func, select

from craton.db import READ_ON_BEGIN, fetch, piggyback_text
from craton.domain.errors import InvalidInput
from craton.projections import lateness
from craton.projections.tables import LIVE, Tables, valid_until


def visible(t: Table, at: int | ColumnElement[Any] | None) -> ColumnElement[bool]:
    """Rows true at position ``at``, a number or a bound parameter (``None``: the
    current rows).

    Past rows are matched on ``valid_from`` and ``valid_until`` (``valid_to``
    with the current rows' open end spelt as a number), both in the as-of
    indexes, so a past listing skips the versions that were not true then
    inside the index, without reading them.
    """
    if at is None:
        return t.c.valid_to.is_(None)
    return and_(t.c.valid_from <= at, valid_until(t) > at)


@lru_cache(maxsize=16)  # a few sets of tables: the live ones, a rebuild's
def head_statement(events: Table) -> Select[Any]:
    """The position of the last projected event (NULL for an empty log)."""
    return select(func.max(events.c.position))


def head(conn: Connection, tables: Tables = LIVE) -> int:
    """The position of the last projected event (0 for an empty ledger).

    A PostgreSQL reader's snapshot read it with its BEGIN (``log_head_text``).
    Otherwise it is asked through the driver (``db.fetch``): every request reads
    it, and SQLAlchemy's execution of the statement took about 70 microseconds
    of a listing's time where the query itself takes 5.
    """
    if tables is LIVE and READ_ON_BEGIN in conn.info:
        return int(conn.info[READ_ON_BEGIN] or 0)
    _, rows = fetch(conn, head_statement(tables.events), {})
    return int(rows[0][0] or 0)


def log_head_text() -> str:
    """The live head's query as SQL text, for ``Database.read_on_begin``."""
    return piggyback_text(head_statement(LIVE.events))


def position_at(conn: Connection, moment: datetime, tables: Tables = LIVE) -> int:
    """The last position recorded at or before ``moment`` (0 before the first event):
    a seek on the time index and a look at the late events (``lateness``)."""
    return lateness.position_at(conn, moment, tables)


def parse_moment(value: str) -> int | datetime:
    """``@<position>`` or an RFC 3339 timestamp."""
    value = value.strip()
    if value.startswith("@"):
        try:
            position = int(value[1:])
        except ValueError:
            raise InvalidInput(f"not a position: {value!r}") from None
        if position < 0:
            raise InvalidInput("a position is never negative")
        return position
    try:
        # (RFC 3339 allows its T and Z in lower case; fromisoformat, only the T)
        moment = datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(
            f"not a moment: {value!r} (use an RFC 3339 time or @<position>)") from None
    if moment.tzinfo is None:
        raise InvalidInput(f"{value!r} has no time zone (add Z or an offset)")
    return _in_utc(moment)


EARLIEST = datetime.min.replace(tzinfo=UTC)
LATEST = datetime.max.replace(tzinfo=UTC)


def _in_utc(moment: datetime) -> datetime:
    """``moment`` in UTC; a time whose UTC falls outside years 1 to 9999 (an offset
    at either end of the calendar) is the first or last moment there is: before
    every event, or after every one."""
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        return EARLIEST if moment.year == datetime.min.year else LATEST


def resolve(conn: Connection, value: str | None, tables: Tables = LIVE) -> int | None:
    """The position an ``as_of`` value names; ``None`` for now."""
    if value is None:
        return None
    moment = parse_moment(value)
    if isinstance(moment, int):
        return moment
    return position_at(conn, moment, tables)


def utc(value: Any) -> Any:
    """SQLite hands back naive datetimes; every time Craton shows is UTC."""
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


_RFC3339 = orjson.OPT_UTC_Z | orjson.OPT_NAIVE_UTC


def iso(value: Any) -> str | None:
    """RFC 3339 with ``Z`` for UTC; naive times (SQLite's) are UTC.

    The spelling of ``isoformat()`` (microseconds only when there are some),
    written by orjson: a listing writes two per item, and this is a quarter
    of the cost.
    """
    if value is None:
        return None
    try:
        return orjson.dumps(value, option=_RFC3339)[1:-1].decode()
    except TypeError:  # a datetime subclass, which orjson refuses
        text: str = value.isoformat()
        if value.tzinfo is None:
            return f"{text}Z"
        return f"{text[:-6]}Z" if text.endswith("+00:00") else text


_SQLITE_TIME = len("2026-01-01 00:00:00.000000")


def sqlite_iso(value: Any) -> str | None:
    """A time as SQLite stores it (``YYYY-MM-DD HH:MM:SS.ffffff``, UTC) in the API's
    spelling, ``iso``'s: microseconds only when there are some, and ``Z``."""
    if isinstance(value, str) and len(value) == _SQLITE_TIME and value[10] == " ":
        fraction = value[19:]
        return f"{value[:10]}T{value[11:19]}{'' if fraction == '.000000' else fraction}Z"
    if isinstance(value, str):  # another spelling: read it as the dialect would
        return iso(utc(datetime.fromisoformat(value)))
    return iso(value)
