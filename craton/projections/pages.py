"""Read-model SQL built once per shape of query; its values are bound per call.

Building a SELECT of every column, then hashing it into SQLAlchemy's cache
key, was about a fifth of a listing request's time. Listings of one shape
(the kinds, which filters, how many labels, the sort, as of a moment or now)
share one statement object, whose cache key SQLAlchemy keeps; only the values
change. Reads of many resources' rows at once (``of_resources``) do the same.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Select,
    Table,
    Text,
    and_,
    bindparam,
    cast,
    exists,
    false,
    func,
    literal_column,
    or_,
    select,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.sql.elements import Label

from craton.domain.kinds import KINDS
from craton.projections.tables import Tables
from craton.projections.timeline import visible

INT_COLUMNS = ("id", "region_id", "cell_id", "cloud_id", "parent_id", "host_id")
BOOL_COLUMNS = ("active",)


def visible_bound(t: Table, past: bool) -> ColumnElement[bool]:
    """``timeline.visible`` with the moment bound as ``:at`` (current rows: no bind)."""
    return visible(t, bindparam("at", type_=BigInteger) if past else None)


def stamps(tables: Tables, at: Any) -> dict[str, Any]:
    """A resource row's ``version`` and ``updated_at`` as they were at ``at``.

    A row is versioned only when what it describes changes; a change of its
    variables, facts or labels moves its version and update time on in place.
    A past read therefore takes both from the row's last event at or before
    the moment (``ix_event_resource`` covers them).
    """
    t, e = tables.resources, tables.events

    def last(column: str) -> Any:
        return (select(e.c[column]).where(e.c.resource_id == t.c.id, e.c.position <= at)
                .order_by(e.c.position.desc()).limit(1).scalar_subquery())
    return {"version": last("version"), "updated_at": last("time")}


def resource_columns(tables: Tables, columns: tuple[str, ...] | None, at: Any) -> list[Any]:
    """``columns`` of the resources (None: every one) as read at ``at`` (None: now)."""
    t = tables.resources
    names = [c.name for c in t.c] if columns is None else list(columns)
    if at is None:
        return [t.c[name] for name in names]
    past = stamps(tables, at)
    return [past[name].label(name) if name in past else t.c[name] for name in names]


def sort_column(t: Table, key: str, past: dict[str, Any] | None = None) -> Any:
    """The expression a listing sorts on (``past``: the stamps of a past read)."""
    if past is not None and key in past:
        return past[key]
    col = t.c[key]
    if key in ("created_at", "updated_at", "id"):
        return col
    # A null sorts as its type's least value (PostgreSQL casts nothing else to boolean).
    least = -1 if key in INT_COLUMNS else false() if key in BOOL_COLUMNS else ""
    return func.coalesce(col, least)


def sort_keys(keys: tuple[str, ...]) -> tuple[str, ...]:
    """The sort keys, ending with ``id`` so the order is total."""
    return (*[k for k in keys if k != "id"], "id")


@lru_cache(maxsize=64)
def of_resources(table: Table, columns: tuple[str, ...] | None, key: str, past: bool
                 ) -> Select[Any]:
    """``columns`` (None: every column) of ``table``'s rows whose ``key`` is in
    ``:ids``, now or at ``:at``."""
    chosen = table.c if columns is None else [table.c[c] for c in columns]
    return select(*chosen).where(
        table.c[key].in_(bindparam("ids", expanding=True)), visible_bound(table, past))


def _at(past: bool) -> Any:
    return bindparam("at", type_=BigInteger) if past else None


@lru_cache(maxsize=64)
def marker_statement(tables: Tables, keys: tuple[str, ...], past: bool,
                     kinds: tuple[str, ...], project: bool) -> Select[Any]:
    """The sort values of the marker row (bound as ``:marker``), if it is a resource of
    the listing's kinds (and project, bound as ``:project_id``): a row of another
    project must not serve as a cursor, or the page would tell where it sorts."""
    t = tables.resources
    stamped = stamps(tables, _at(past)) if past else None
    conds = [t.c.id == bindparam("marker"), visible_bound(t, past),
             t.c.kind.in_([KINDS[k].name for k in kinds])]
    if project:
        conds.append(t.c.project_id == bindparam("project_id"))
    return select(*[sort_column(t, k, stamped) for k in keys]).where(*conds)


@lru_cache(maxsize=256)
def page_statement(tables: Tables, dialect: str, kinds: tuple[str, ...], past: bool,
                   project: bool, filters: tuple[tuple[str, bool], ...], labels: int,
                   variables: int, descendants: bool, marker: bool, keys: tuple[str, ...],
                   descending: bool, with_labels: bool,
                   columns: tuple[str, ...] | None = None, as_text: bool = False
                   ) -> Select[Any]:
    """A page's statement for one shape; binds: ``at``, ``project_id``,
    ``f_<field>``, ``label_<i>``, ``var_key_<i>``/``var_value_<i>``, ``descendants``,
    ``marker_<i>`` (the marker row's sort values) and ``page_limit``; ``columns``:
    the resource columns read (None: every one); ``as_text``: PostgreSQL sends the
    fields and labels as JSON text (labels in code-point order) and times as text
    in UTC, for ``spelling`` to put together unparsed. The labels of the current
    state are the rows' own (``documents``), as JSON text on both databases."""
    t = tables.resources
    # The kinds are written into the statement (names from ``KINDS``): bound, they are
    # a list SQLAlchemy expands into the statement's text on every execution.
    written: list[Any] = [literal_column(f"'{KINDS[k].name}'") for k in kinds]
    conds: list[ColumnElement[bool]] = [t.c.kind.in_(written), visible_bound(t, past)]
    if project:
        conds.append(t.c.project_id == bindparam("project_id"))
    for key, is_none in filters:
        conds.append(t.c[key].is_(None) if is_none else t.c[key] == bindparam(f"f_{key}"))
    lab = tables.labels
    for i in range(labels):
        conds.append(exists().where(lab.c.resource_id == t.c.id,
                                    lab.c.label == bindparam(f"label_{i}"),
                                    visible_bound(lab, past)))
    v = tables.variables
    for i in range(variables):
        conds.append(exists().where(
            v.c.resource_id == t.c.id, v.c.key == bindparam(f"var_key_{i}"),
            v.c.value == bindparam(f"var_value_{i}"), visible_bound(v, past)))
    if descendants:
        conds.append(t.c.id.in_(bindparam("descendants", expanding=True)))
    stamped = stamps(tables, _at(past)) if past else None
    cols = [sort_column(t, k, stamped) for k in keys]
    order = [c.desc() if descending else c for c in cols]
    if marker:
        clauses = []
        for i, col in enumerate(cols):
            eq = [cols[j] == bindparam(f"marker_{j}") for j in range(i)]
            after: Any = bindparam(f"marker_{i}")
            clauses.append(and_(*eq, col < after if descending else col > after))
        conds.append(or_(*clauses))
    chosen = resource_columns(tables, columns, _at(past))
    text = as_text and dialect == "postgresql"  # (SQLite's driver hands text back anyway)
    if text:
        chosen = [_as_text(c) for c in chosen]
    if with_labels and not past:  # (``documents``: JSON text, in order)
        chosen.append(t.c.labels_json.label("labels"))
    elif with_labels:
        agg = func.json_group_array(lab.c.label) if dialect != "postgresql" \
            else cast(func.array_to_json(func.array_agg(aggregate_order_by(
                lab.c.label, lab.c.label.collate("C")))), Text) if text \
            else func.array_agg(lab.c.label)
        chosen.append(select(agg).where(lab.c.resource_id == t.c.id,
                                         visible_bound(lab, past))
                       .scalar_subquery().label("labels"))
    return select(*chosen).where(*conds).order_by(*order)


def _as_text(column: Any) -> Any:
    """A page's column as PostgreSQL's text: the fields' JSON, a time in UTC
    (``YYYY-MM-DD HH:MM:SS[.ffffff]``, psycopg2's ISO date style)."""
    name = column.name
    inner = column.element if isinstance(column, Label) else column
    if name == "data":
        return cast(inner, Text).label(name)
    if name in ("created_at", "updated_at"):
        return cast(func.timezone(literal_column("'UTC'"), inner), Text).label(name)
    return column


@lru_cache(maxsize=256)
def limited(statement: Select[Any]) -> Select[Any]:
    """The statement, limited to ``:page_limit`` rows."""
    return statement.limit(bindparam("page_limit", type_=BigInteger))


@lru_cache(maxsize=256)
def chunked(statement: Select[Any]) -> Select[Any]:
    """The statement's rows from ``:chunk_offset``, ``:chunk_limit`` of them."""
    return statement.limit(bindparam("chunk_limit", type_=BigInteger)).offset(
        bindparam("chunk_offset", type_=BigInteger))
