"""Turning ``from``/``to`` (RFC 3339 times or ``@position``) into a report window."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Connection, func, select

from craton.domain.errors import InvalidInput
from craton.projections.tables import LIVE
from craton.projections.timeline import head, parse_moment, position_at, utc
from craton.reports.base import Window


def _time_of(conn: Connection, position: int) -> datetime | None:
    e = LIVE.events
    value = conn.execute(select(e.c.time).where(e.c.position <= position)
                         .order_by(e.c.position.desc()).limit(1)).scalar()
    return utc(value) if value is not None else None


def _first_time(conn: Connection, after: int) -> datetime | None:
    e = LIVE.events
    value = conn.execute(select(func.min(e.c.time)).where(e.c.position > after)).scalar()
    return utc(value) if value is not None else None


def resolve_window(conn: Connection, start: str | None, end: str | None,
                   now: datetime | None = None) -> Window:
    """The window from ``start`` to ``end``.

    A time ``from`` includes events at or after it, ``@p`` the events after position p;
    ``to`` includes events up to that time or position. Missing bounds: the whole log.
    """
    last = head(conn)
    after, start_time = 0, None
    if start is not None:
        moment = parse_moment(start)
        if isinstance(moment, int):
            if moment > last:
                raise InvalidInput(f"the window starts ({start}) after the last event "
                                   f"(@{last})")
            after = moment
            start_time = _time_of(conn, moment) if moment else None
        else:
            e = LIVE.events
            before = conn.execute(select(func.max(e.c.position))
                                  .where(e.c.time < moment)).scalar()
            after, start_time = int(before or 0), moment
    until, end_time = last, now or datetime.now(UTC)
    if end is not None:
        moment = parse_moment(end)
        if isinstance(moment, int):
            until = min(moment, last)
            # (@0 is the moment before the first event)
            end_time = _time_of(conn, until) or _first_time(conn, 0) or end_time
        else:
            until, end_time = position_at(conn, moment), moment
    if until < after or (start_time is not None and start_time > end_time):
        ends = end if end is not None else f"now, {end_time.isoformat()}"
        raise InvalidInput(f"the window ends ({ends}) before it starts ({start})")
    if start_time is None and after == 0:
        start_time = _first_time(conn, 0)
    return Window(after=after, until=until, start=start_time, end=end_time,
                  label_from=start or "@0", label_to=end or f"@{last}")
