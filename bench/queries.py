"""The read-side calls the figures time, written as the API makes them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from craton.projections import audit, timeline
from craton.projections.listing import ListQuery, get_row, list_rows, present
from craton.projections.tables import LIVE
from craton.projections.variables import RESOLVES, labels_of, resolved_values, values_of


def whole_fleet(conn: Connection, at: int | None, limit: int) -> dict[int, dict[str, Any]]:
    """Every host with its resolved variables, now (``at`` None) or at a position,
    reading the columns resolving follows (as the Ansible inventory does)."""
    rows, _ = list_rows(conn, ListQuery(kinds=("host",), limit=limit, at=at,
                                        columns=RESOLVES))
    return resolved_values(conn, rows, at)


def get_host(conn: Connection, host_id: int, at: int | None) -> dict[str, Any]:
    """One host as the item GET shows it (fields, labels, own variables)."""
    timeline.head(conn)
    row = get_row(conn, "host", host_id, None, at)
    assert row is not None
    labels = labels_of(conn, [row.id], at)[row.id]
    own = values_of(conn, LIVE.variables, [row.id], at)[row.id]
    return present(row, labels=labels, variables=own)


def host_history(conn: Connection, host_id: int) -> list[dict[str, Any]]:
    """The first page of a host's history, as the API answers it."""
    return audit.history(conn, host_id, limit=1000)[0]


def middle_moment(conn: Connection) -> Any:
    """The time of the event half way through the log: a past moment to ask about."""
    from sqlalchemy import func, select

    e = LIVE.events
    last = conn.execute(select(func.max(e.c.position))).scalar() or 0
    row = conn.execute(select(e.c.time).where(e.c.position >= last // 2)
                       .order_by(e.c.position).limit(1)).first()
    return row.time if row else None
