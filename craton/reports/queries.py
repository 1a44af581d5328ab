"""Queries every report shares: the window's events, resources as of its end."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from sqlalchemy import Connection, and_, or_, select

from craton.batches import pieces
from craton.projections.pages import resource_columns
from craton.projections.tables import LIVE
from craton.projections.timeline import visible
from craton.reports.base import Window


def batches(ids: Iterable[Any]) -> Iterator[list[Any]]:
    """The distinct ids, sorted, in lists short enough for one ``IN``."""
    yield from pieces(sorted(set(ids)))


def events_in(conn: Connection, window: Window, project_id: str | None,
              *conds: Any, hidden_kinds: tuple[str, ...] = ()) -> list[Any]:
    """The events of the window, oldest first, limited to one project when given, and
    without those of ``hidden_kinds``."""
    return list(conn.execute(_events_query(window, project_id, conds, hidden_kinds)))


# What a report that counts changes reads of each: not their field-level changes,
# most of an event row's bytes.
COUNTED = ("position", "time", "actor_name", "kind", "uuid", "project_id", "source",
           "event_type", "resource_id", "request_id", "reason", "run_id")


def stream_events(conn: Connection, window: Window, project_id: str | None,
                  hidden_kinds: tuple[str, ...] = ()) -> Iterator[Any]:
    """``events_in``, one row at a time and only the ``COUNTED`` columns of each, read
    from the database a batch of positions at a time: a report over a long window
    holds what it counts, not every event."""
    e = LIVE.events
    query = _events_query(window, project_id, (), hidden_kinds, COUNTED)
    after = window.after
    while True:
        rows = conn.execute(query.where(e.c.position > after).limit(STREAMED)).all()
        yield from rows
        if len(rows) < STREAMED:
            return
        after = rows[-1].position


STREAMED = 5000  # events a report reads at a time


def _events_query(window: Window, project_id: str | None, conds: tuple[Any, ...],
                  hidden_kinds: tuple[str, ...], columns: tuple[str, ...] | None = None
                  ) -> Any:
    e = LIVE.events
    where = [e.c.position > window.after, e.c.position <= window.until, *conds]
    if hidden_kinds:
        where.append(e.c.kind.not_in(hidden_kinds))
    if project_id is not None:
        where.append(or_(e.c.project_id == project_id,
                         and_(e.c.kind == "project", e.c.uuid == project_id)))
    chosen = [e.c[name] for name in columns] if columns else [e]
    return select(*chosen).where(*where).order_by(e.c.position)


def project_of(event: Any) -> str | None:
    """The project an event belongs to (a project's own events belong to it)."""
    return str(event.uuid) if event.kind == "project" else event.project_id


UNSTAMPED = tuple(c.name for c in LIVE.resources.c if c.name not in ("version", "updated_at"))


def resources_at(conn: Connection, kind: str, at: int, project_id: str | None,
                 stamped: bool = False) -> list[Any]:
    """Resources of one kind as they were at position ``at``; ``stamped``: with their
    version and update time then (an index probe per row), else without either."""
    t = LIVE.resources
    where = [t.c.kind == kind, visible(t, at)]
    if project_id is not None:
        where.append(t.c.project_id == project_id)
    columns = resource_columns(LIVE, None if stamped else UNSTAMPED, at)
    return list(conn.execute(select(*columns).where(*where).order_by(t.c.id)))


def versions_of(conn: Connection, ids: Iterable[int], until: int) -> dict[int, list[Any]]:
    """Every version of the given resources up to position ``until``, oldest first."""
    t = LIVE.resources
    out: dict[int, list[Any]] = {}
    for batch in batches(ids):
        rows = conn.execute(select(t).where(t.c.id.in_(batch), t.c.valid_from <= until)
                            .order_by(t.c.id, t.c.valid_from))
        for row in rows:
            out.setdefault(row.id, []).append(row)
    return out


def project_names(conn: Connection) -> dict[str, str]:
    """Project uuid to its latest name (deleted projects included)."""
    t = LIVE.resources
    rows = conn.execute(select(t.c.uuid, t.c.name).where(t.c.kind == "project")
                        .order_by(t.c.valid_from))
    return {uuid: name for uuid, name in rows}


def names_at(conn: Connection, ids: Iterable[int | None], at: int) -> dict[int, str]:
    """Names of resources by id as of position ``at`` (latest known name if deleted)."""
    t = LIVE.resources
    out: dict[int, str] = {}
    for batch in batches(i for i in ids if isinstance(i, int)):
        rows = conn.execute(select(t.c.id, t.c.name).where(
            t.c.id.in_(batch), t.c.valid_from <= at).order_by(t.c.valid_from))
        out.update({rid: name for rid, name in rows})
    return out
