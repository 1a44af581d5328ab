"""Current or as-of listings: filtered, sorted, paged by marker."""

from __future__ import annotations

import uuid as uuid_module
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import orjson
from sqlalchemy import Connection, Row, func, select

from craton.collector import collector_paused
from craton.domain.errors import InvalidInput
from craton.domain.kinds import KINDS
from craton.projections import pages
from craton.projections.rows import dump_value
from craton.projections.tables import LIVE, Tables
from craton.projections.timeline import iso, visible
from craton.projections.variables import labels_of, resolved_values, values_of

SORTABLE = ("created_at", "updated_at", "id", "name", "ip_address", "device_type",
            "region_id", "cell_id", "cloud_id", "parent_id", "host_id", "active")
# Every resource has these; the other sort keys are fields some kinds have.
ALWAYS_SORTABLE = ("created_at", "updated_at", "id")
FILTERABLE = ("name", "region_id", "cloud_id", "cell_id", "parent_id", "device_id",
              "network_id", "host_id", "device_type", "ip_address", "active",
              "uuid")  # (uuid: a caller's own project, not a client's filter)


@cache
def sortable_of(kinds: tuple[str, ...]) -> tuple[str, ...]:
    """The sort keys of a listing of ``kinds``: a field every one of them has. A key a
    kind lacks is null on every row, which orders nothing and leaves no marker to page
    from."""
    return tuple(k for k in SORTABLE if k in ALWAYS_SORTABLE
                 or all(k in KINDS[kind].fields for kind in kinds))


RESOLVE_CHUNK_MAX = 5000  # rows resolved at once when matching inherited values


@dataclass
class ListQuery:
    """What a listing asks for."""

    kinds: tuple[str, ...]
    project_id: str | None = None
    filters: dict[str, Any] = field(default_factory=dict)
    labels: list[str] = field(default_factory=list)
    vars: dict[str, Any] = field(default_factory=dict)
    resolved_vars: bool = False
    limit: int = 30
    marker: int | None = None
    sort_keys: tuple[str, ...] = ("created_at", "id")
    sort_dir: str = "asc"
    at: int | None = None
    details: bool = False
    descendants_of: int | None = None
    with_labels: bool = False  # each row carries its labels (read in the same query)
    columns: tuple[str, ...] | None = None  # the resource columns read (None: every one)


# The columns ``present`` shows (a listing reads only these).
PRESENTED = ("id", "uuid", "kind", "project_id", "data", "created_at", "updated_at")


def present(row: Any, *, labels: list[str] | None = None,
            variables: dict[str, Any] | None = None) -> dict[str, Any]:
    """A resource row as the API shows it."""
    # By key: a Row's attributes are slow. (A mapping is not asked for ``_mapping``:
    # a RowMapping answers a missing attribute by raising and catching a KeyError.)
    return present_mapping(row._mapping if isinstance(row, Row) else row,
                           labels=labels, variables=variables)


def present_mapping(m: Any, *, labels: list[str] | None = None,
                    variables: dict[str, Any] | None = None) -> dict[str, Any]:
    """``present`` of a row's mapping (a listing's 100 rows skip the type check, an
    abstract class's: about a microsecond each)."""
    return item(m["kind"], m["id"], m["uuid"], m["project_id"], m["data"],
                iso(m["created_at"]), iso(m["updated_at"]), labels, variables)


def public_id(row: Any) -> Any:
    """The id a resource is known by over the API: a project's uuid, else its number."""
    return row.uuid if row.kind == "project" else row.id


def item(kind: str, rid: int, uuid: str, project_id: str | None, fields: dict[str, Any],
         created_at: str | None, updated_at: str | None, labels: list[str] | None,
         variables: dict[str, Any] | None) -> dict[str, Any]:
    """An API item from a resource's columns, its times already spelt (``iso``)."""
    out: dict[str, Any] = {"id": uuid if kind == "project" else rid, "uuid": uuid}
    out.update(fields)
    if kind == "user":
        out["username"] = out.pop("name")
    out["project_id"] = project_id
    if KINDS[kind].labels:
        out["labels"] = labels or []
    if variables is not None:
        out["variables"] = variables
    out["created_at"] = created_at
    out["updated_at"] = updated_at
    return out


def get_row(conn: Connection, kind: str, resource_id: int, project_id: str | None,
            at: int | None, tables: Tables = LIVE) -> Any | None:
    t = tables.resources
    conds = [t.c.id == resource_id, t.c.kind == kind, visible(t, at)]
    if project_id is not None:
        conds.append(t.c.project_id == project_id)
    return conn.execute(select(*pages.resource_columns(tables, None, at))
                        .where(*conds)).first()


def project_uuid(spelt: str) -> str | None:
    """A project's id in its stored spelling (lowercase, hyphenated) from any spelling
    ``uuid.UUID`` reads (upper case, braces, ``urn:uuid:``); None if it is no UUID."""
    try:
        return str(uuid_module.UUID(spelt))
    except (ValueError, TypeError):
        return None


def get_project_row(conn: Connection, uuid: str, at: int | None,
                    tables: Tables = LIVE) -> Any | None:
    stored = project_uuid(uuid)
    if stored is None:
        return None
    t = tables.resources
    return conn.execute(select(*pages.resource_columns(tables, None, at)).where(
        t.c.uuid == stored, t.c.kind == "project", visible(t, at))).first()


def dependents_by_kind(conn: Connection, resource_id: int, through: str,
                       tables: Tables = LIVE) -> dict[str, int]:
    """How many live resources of each kind refer to ``resource_id`` through the
    reference column ``through`` (e.g. the hosts and networks of a cell)."""
    t = tables.resources
    rows = conn.execute(select(t.c.kind, func.count()).where(
        t.c[through] == resource_id, t.c.valid_to.is_(None)).group_by(t.c.kind)).all()
    return {kind: count for kind, count in rows}


def _page(conn: Connection, q: ListQuery, tables: Tables, as_text: bool = False
          ) -> tuple[Any, dict[str, Any]]:
    """The page's statement (shared by every listing of its shape) and its values;
    ``as_text``: the statement reads what ``spelling`` needs as text."""
    sortable = sortable_of(q.kinds)
    for key in q.sort_keys:
        if key not in sortable:
            raise InvalidInput(
                f"cannot sort {'/'.join(q.kinds)} listings by {key!r}; "
                f"sort by {', '.join(sortable)}",
                {"sort_keys": [f"unknown: {key}"]})
    for key in q.filters:
        if key not in FILTERABLE:
            raise InvalidInput(f"cannot filter on {key!r}")
    past, keys = q.at is not None, pages.sort_keys(q.sort_keys)
    params: dict[str, Any] = {"at": q.at, "project_id": q.project_id,
                              "page_limit": q.limit + 1}
    params.update({f"f_{k}": v for k, v in q.filters.items() if v is not None})
    params.update({f"label_{i}": label for i, label in enumerate(q.labels)})
    matched = sorted(q.vars.items()) if q.vars and not q.resolved_vars else []
    for i, (key, value) in enumerate(matched):
        params[f"var_key_{i}"], params[f"var_value_{i}"] = key, dump_value(value)
    if q.descendants_of is not None:
        params["descendants"] = descendants(conn, q.descendants_of, q.at, tables) or [-1]
    if q.marker is not None:
        marker = conn.execute(
            pages.marker_statement(tables, keys, past, tuple(q.kinds),
                                   q.project_id is not None),
            {"marker": q.marker, "at": q.at, "project_id": q.project_id}).first()
        if marker is None:
            raise InvalidInput(f"marker {q.marker} is not an item of this listing",
                               {"marker": ["unknown marker"]})
        params.update({f"marker_{i}": value for i, value in enumerate(marker)})
    statement = pages.page_statement(
        tables, conn.dialect.name, tuple(q.kinds), past, q.project_id is not None,
        tuple(sorted((k, v is None) for k, v in q.filters.items())), len(q.labels),
        len(matched), q.descendants_of is not None, q.marker is not None, keys,
        q.sort_dir == "desc", q.with_labels and any(KINDS[k].labels for k in q.kinds),
        None if q.vars and q.resolved_vars else q.columns,  # (resolving reads them all)
        as_text)
    return statement, params


def list_rows(conn: Connection, q: ListQuery, tables: Tables = LIVE) -> tuple[list[Any], bool]:
    """One page of rows and whether another page follows."""
    # Compared as stored, in canonical JSON, as the own-values filter compares: true is
    # not 1, nor 1.0 the same as 1.
    wanted = {k: dump_value(v) for k, v in q.vars.items()} if q.resolved_vars else {}
    if wanted and not _held_somewhere(conn, wanted, q.at, tables):
        return [], False  # nothing can inherit a value that nothing holds
    stmt, params = _page(conn, q, tables)
    if not wanted:
        with collector_paused():  # a long page is many rows and no cycles
            rows = list(conn.execute(pages.limited(stmt), params).all())
        return rows[:q.limit], len(rows) > q.limit
    # Matching on inherited values: resolve chunk by chunk until the page is full. The
    # first chunk is a page's worth (a common filter matches most rows); each next one
    # is four times larger, so a rare match costs few round trips.
    page: list[Any] = []
    chunk, offset = q.limit + 1, 0
    while True:
        rows = list(conn.execute(pages.chunked(stmt),
                                 {**params, "chunk_limit": chunk, "chunk_offset": offset}).all())
        if not rows:
            return page, False
        values = resolved_values(conn, rows, q.at, tables)
        for row in rows:
            have = values[row.id]
            if all(k in have and dump_value(have[k]) == v for k, v in wanted.items()):
                if len(page) == q.limit:
                    return page, True
                page.append(row)
        offset += chunk
        chunk = min(chunk * 4, RESOLVE_CHUNK_MAX)


def _held_somewhere(conn: Connection, wanted: dict[str, str], at: int | None,
                    tables: Tables) -> bool:
    """Whether each wanted value (canonical JSON) is set on some resource at ``at``:
    a row resolves a value only from itself or a level above it, so where one is set
    nowhere, no row can match (one index probe per value, instead of resolving every
    row of the kind)."""
    v = tables.variables
    for key, value in wanted.items():
        if conn.execute(select(v.c.resource_id).where(
                v.c.key == key, v.c.value == value, visible(v, at)).limit(1)).first() is None:
            return False
    return True


def row_labels(value: Any) -> list[str]:
    """A row's ``labels`` column (a page read ``with_labels``) as a sorted list."""
    if value is None:
        return []
    # Label text holds no numbers for the standard parser to guard: orjson reads it.
    return sorted(orjson.loads(value) if isinstance(value, str) else value)


def present_rows(conn: Connection, rows: list[Any], at: int | None, details: bool,
                 tables: Tables = LIVE) -> list[dict[str, Any]]:
    """Rows as API items, with labels (and variables when asked) in two queries at most."""
    maps = [r._mapping for r in rows]  # by key: a Row's attributes are slow
    ids = [m["id"] for m in maps]
    if maps and "labels" in maps[0]:
        labels = {m["id"]: row_labels(m["labels"]) for m in maps}
    elif any(KINDS[m["kind"]].labels for m in maps):
        labels = labels_of(conn, ids, at, tables)
    else:
        labels = {}
    variables = values_of(conn, tables.variables, ids, at) if details else {}
    return [present_mapping(m, labels=labels.get(m["id"]),
                            variables=variables.get(m["id"]) if details else None)
            for m in maps]


def descendants(conn: Connection, parent_id: int, at: int | None,
                tables: Tables = LIVE) -> list[int]:
    """Every device below ``parent_id``, walked breadth first."""
    t = tables.resources
    found: list[int] = []
    frontier = [parent_id]
    while frontier:
        rows = conn.execute(select(t.c.id).where(
            t.c.parent_id.in_(frontier), visible(t, at))).scalars().all()
        frontier = [r for r in rows if r not in found]
        found.extend(frontier)
    return found
