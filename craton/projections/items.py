"""A listing page as API items, made from the driver's own rows.

A page is a hundred rows of seven columns and their labels. Through
SQLAlchemy's results each row became a ``Row`` whose JSON column was parsed
by a result processor and whose times (text on SQLite) were parsed into
datetimes, only to be written out as text again: a third of a listing's
time. Here the statement still goes through SQLAlchemy (its compiled form
is cached, its values are bound by the dialect), but the rows are taken from
the driver's cursor as they come, and each item is made from them by
position; a time SQLite stored as text is respelled, not parsed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from craton import codec
from craton.collector import collector_paused
from craton.domain.kinds import KINDS
from craton.projections import pages
from craton.projections.listing import (
    PRESENTED,
    ListQuery,
    _page,
    item,
    list_rows,
    present_rows,
    row_labels,
)
from craton.projections.tables import LIVE, Tables
from craton.projections.timeline import iso, utc
from craton.projections.variables import labels_of, values_of

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


@dataclass
class ItemsPage:
    """A page of API items, each one's kind, and whether another page follows."""

    items: list[dict[str, Any]]
    kinds: list[str]
    more: bool


def list_items(conn: Connection, q: ListQuery, tables: Tables = LIVE) -> ItemsPage:
    """One page of a listing as API items (``listing.present``'s, with labels, and with
    own variables when ``q.details``)."""
    if (q.vars and q.resolved_vars) or q.columns != PRESENTED or not q.with_labels:
        found, more = list_rows(conn, q, tables)  # (resolving reads rows through SQLAlchemy)
        return ItemsPage(present_rows(conn, found, q.at, q.details, tables),
                         [r._mapping["kind"] for r in found], more)
    statement, params = _page(conn, q, tables)
    with collector_paused():  # a page is many small objects and no cycles
        result = conn.execute(pages.limited(statement), params)
        try:
            names = [d[0] for d in result.cursor.description]
            rows: Sequence[Any] = result.cursor.fetchall()
        finally:
            result.close()
        more = len(rows) > q.limit
        return ItemsPage(*_items(conn, names, rows[:q.limit], q, tables), more=more)


def _items(conn: Connection, names: list[str], rows: Sequence[Any], q: ListQuery,
           tables: Tables) -> tuple[list[dict[str, Any]], list[str]]:
    at = {name: i for i, name in enumerate(names)}
    rid, uuid, kind, project, data, created, updated = (at[n] for n in PRESENTED)
    labels_at = at.get("labels")
    spell: Callable[[Any], str | None] = sqlite_iso if conn.dialect.name == "sqlite" else iso
    ids = [r[rid] for r in rows]
    labelled = {k for k in q.kinds if KINDS[k].labels}
    if labels_at is None and labelled:
        read = labels_of(conn, ids, q.at, tables)
        labels: list[Any] = [read[i] for i in ids]
    else:
        labels = [row_labels(r[labels_at]) if labels_at is not None else None for r in rows]
    variables = values_of(conn, tables.variables, ids, q.at) if q.details else None
    # JSON text on SQLite (parsed here in one call), objects from psycopg2
    fields = [r[data] for r in rows]
    if fields and isinstance(fields[0], str):
        fields = codec.loads_many(fields)
    items = [item(r[kind], r[rid], r[uuid], r[project], its_fields, spell(r[created]),
                  spell(r[updated]), its_labels,
                  None if variables is None else variables[r[rid]])
             for r, its_labels, its_fields in zip(rows, labels, fields, strict=True)]
    return items, [r[kind] for r in rows]
