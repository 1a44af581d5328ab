"""A listing page as API items, made from the driver's own rows.

A page is a hundred rows of seven columns and their labels. Through
SQLAlchemy's results each row became a ``Row`` whose JSON column was parsed
by a result processor and whose times (text on SQLite) were parsed into
datetimes, only to be written out as text again: a third of a listing's
time. Here the statement, compiled once, runs on the driver's cursor, and
each item is made from the row by position: as the JSON text of the item
(``list_texts``, through ``spelling``: every kind whose item is its columns
as stored) or as a dict (``list_items``: projects and users, whose items are
not, and the API's other callers).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Select

from craton import codec
from craton.collector import collector_paused
from craton.db import fetch
from craton.domain.kinds import KINDS
from craton.prepared import fetch_prepared
from craton.projections import pages, spelling, timeline
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
from craton.projections.timeline import iso, sqlite_iso
from craton.projections.variables import labels_of, members_column, values_of


@dataclass
class ItemsPage:
    """A page of API items, each one's kind, and whether another page follows."""

    items: list[dict[str, Any]]
    kinds: list[str]
    more: bool


def list_items(conn: Connection, q: ListQuery, tables: Tables = LIVE) -> ItemsPage:
    """One page of a listing as API items (``listing.present``'s, with labels, and with
    own variables when ``q.details``)."""
    if not _by_position(q):
        found, more = list_rows(conn, q, tables)  # (resolving reads rows through SQLAlchemy)
        return ItemsPage(present_rows(conn, found, q.at, q.details, tables),
                         [r._mapping["kind"] for r in found], more)
    statement, params = _page(conn, q, tables)
    with collector_paused():  # a page is many small objects and no cycles
        names, rows = fetch(conn, pages.limited(statement), params)
        more = len(rows) > q.limit
        return ItemsPage(*_items(conn, names, rows[:q.limit], q, tables), more=more)


@dataclass
class TextPage:
    """A page of API items as JSON text (``spelling``), with each one's id and kind,
    whether another page follows, and (read ``with_head``) the log's head."""

    texts: list[str]
    ids: list[int]
    kinds: list[str]
    more: bool
    head: int | None = None


def list_texts(conn: Connection, q: ListQuery, tables: Tables = LIVE,
               with_head: bool = False) -> TextPage | None:
    """``list_items``'s page with each item as JSON text (``spelling``); None for a
    listing that cannot be spelt so, which ``list_items`` answers.

    With ``details`` the page's statement also reads each item's variables.
    ``with_head``: it also reads the log's head, so the page and its position come
    from one snapshot without a transaction around them (``Database.one_statement``);
    an empty page has no row to carry the head, and leaves it None.
    """
    if not spelt(q):
        return None
    statement, params = _page(conn, q, tables, as_text=True)
    statement = _with_columns(pages.limited(statement), tables, conn.dialect.name,
                              q.at is not None, q.details, with_head)
    with collector_paused():  # a page is many small objects and no cycles
        names, rows = (fetch_prepared if with_head else fetch)(conn, statement, params)
        at = {name: i for i, name in enumerate(names)}
        more = len(rows) > q.limit
        rows = rows[:q.limit]
        rid, kind = at["id"], at["kind"]
        ids = [r[rid] for r in rows]
        heads, tails = spelling.items(rows, at, conn.dialect.name == "sqlite", "labels" in at,
                                      labels_in_order=q.at is None)
        if q.details:
            read = at["variables"]
            objects = [r[read] or "{}" for r in rows] if q.at is None \
                else [f'{{{r[read] or ""}}}' for r in rows]  # (now: the rows' own object)
            texts = [f'{head},"variables":{variables}{tail}'
                     for variables, head, tail in zip(objects, heads, tails, strict=True)]
        else:
            texts = [head + tail for head, tail in zip(heads, tails, strict=True)]
        head = int(rows[0][at["log_head"]] or 0) if with_head and rows else None
        return TextPage(texts, ids, [r[kind] for r in rows], more, head)


def _by_position(q: ListQuery) -> bool:
    """Whether ``q``'s page is one statement of the columns an item shows, with labels,
    read by position (a page matching inherited values resolves them first)."""
    return not (q.vars and q.resolved_vars) and q.columns == PRESENTED and q.with_labels


def spelt(q: ListQuery) -> bool:
    """Whether ``list_texts`` answers ``q``."""
    return _by_position(q) and spelling.spelt(q.kinds)


@lru_cache(maxsize=256)
def _with_columns(statement: Select[Any], tables: Tables, dialect: str, past: bool,
                  details: bool, with_head: bool) -> Select[Any]:
    """A page's statement that also reads, with ``details``, each row's variables (now:
    the row's own object, ``documents``; at a past moment: the members of their
    object) and, ``with_head``, the log's head."""
    extra = [timeline.head_statement(tables.events).scalar_subquery().label("log_head")] \
        if with_head else []
    if details and not past:
        extra.append(tables.resources.c.variables_json.label("variables"))
    elif details:
        extra.append(members_column(tables.variables, tables.resources, dialect, past)
                     .label("variables"))
    return statement.add_columns(*extra) if extra else statement


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
