"""Current or as-of listings: filtered, sorted, paged by marker."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import ColumnElement, Connection, Row, and_, exists, func, or_, select

from craton.collector import collector_paused
from craton.domain.errors import InvalidInput
from craton.domain.kinds import KINDS
from craton.projections.rows import dump_value
from craton.projections.tables import LIVE, Tables
from craton.projections.timeline import iso, visible
from craton.projections.variables import labels_of, resolved, values_of

SORTABLE = ("created_at", "updated_at", "id", "name", "ip_address", "device_type",
            "region_id", "cell_id", "cloud_id", "parent_id", "host_id", "active")
FILTERABLE = ("name", "region_id", "cloud_id", "cell_id", "parent_id", "device_id",
              "network_id", "host_id", "device_type", "ip_address", "active")
INT_COLUMNS = ("id", "region_id", "cell_id", "cloud_id", "parent_id", "host_id")


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


def present(row: Any, *, labels: list[str] | None = None,
            variables: dict[str, Any] | None = None) -> dict[str, Any]:
    """A resource row as the API shows it."""
    # By key: a Row's attributes are slow. (A mapping is not asked for ``_mapping``:
    # a RowMapping answers a missing attribute by raising and catching a KeyError.)
    m = row._mapping if isinstance(row, Row) else row
    kind, uuid = m["kind"], m["uuid"]
    out: dict[str, Any] = {"id": uuid if kind == "project" else m["id"], "uuid": uuid}
    out.update(m["data"])
    if kind == "user":
        out["username"] = out.pop("name")
    out["project_id"] = m["project_id"]
    if KINDS[kind].labels:
        out["labels"] = labels or []
    if variables is not None:
        out["variables"] = variables
    out["created_at"] = iso(m["created_at"])
    out["updated_at"] = iso(m["updated_at"])
    return out


def get_row(conn: Connection, kind: str, resource_id: int, project_id: str | None,
            at: int | None, tables: Tables = LIVE) -> Any | None:
    t = tables.resources
    conds = [t.c.id == resource_id, t.c.kind == kind, visible(t, at)]
    if project_id is not None:
        conds.append(t.c.project_id == project_id)
    return conn.execute(select(t).where(*conds)).first()


def get_project_row(conn: Connection, uuid: str, at: int | None,
                    tables: Tables = LIVE) -> Any | None:
    t = tables.resources
    return conn.execute(select(t).where(
        t.c.uuid == uuid, t.c.kind == "project", visible(t, at))).first()


def _sort_column(t: Any, key: str) -> Any:
    col = t.c[key]
    if key in ("created_at", "updated_at", "id"):
        return col
    return func.coalesce(col, -1 if key in INT_COLUMNS else "")


def _conditions(conn: Connection, q: ListQuery, t: Any, tables: Tables
                ) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = [t.c.kind.in_(q.kinds), visible(t, q.at)]
    if q.project_id is not None:
        conds.append(t.c.project_id == q.project_id)
    for key, value in q.filters.items():
        if key not in FILTERABLE:
            raise InvalidInput(f"cannot filter on {key!r}")
        conds.append(t.c[key].is_(None) if value is None else t.c[key] == value)
    lab = tables.labels
    for label in q.labels:
        conds.append(exists().where(
            lab.c.resource_id == t.c.id, lab.c.label == label, visible(lab, q.at)))
    if q.vars and not q.resolved_vars:
        v = tables.variables
        for key, value in q.vars.items():
            conds.append(exists().where(
                v.c.resource_id == t.c.id, v.c.key == key,
                v.c.value == dump_value(value), visible(v, q.at)))
    if q.descendants_of is not None:
        ids = descendants(conn, q.descendants_of, q.at, tables)
        conds.append(t.c.id.in_(ids or [-1]))
    if q.marker is not None:
        conds.append(_after_marker(conn, q, t))
    return conds


def _after_marker(conn: Connection, q: ListQuery, t: Any) -> ColumnElement[bool]:
    keys = [*[k for k in q.sort_keys if k != "id"], "id"]
    marker = conn.execute(select(*[_sort_column(t, k) for k in keys]).where(
        t.c.id == q.marker, visible(t, q.at))).first()
    if marker is None:
        raise InvalidInput(f"marker {q.marker} is not an item of this listing",
                           {"marker": ["unknown marker"]})
    cols = [_sort_column(t, k) for k in keys]
    desc = q.sort_dir == "desc"
    clauses = []
    for i, col in enumerate(cols):
        eq = [cols[j] == marker[j] for j in range(i)]
        clauses.append(and_(*eq, col < marker[i] if desc else col > marker[i]))
    return or_(*clauses)


def list_rows(conn: Connection, q: ListQuery, tables: Tables = LIVE) -> tuple[list[Any], bool]:
    """One page of rows and whether another page follows."""
    for key in q.sort_keys:
        if key not in SORTABLE:
            raise InvalidInput(f"cannot sort by {key!r}", {"sort_keys": [f"unknown: {key}"]})
    t = tables.resources
    keys = [*[k for k in q.sort_keys if k != "id"], "id"]
    order = [_sort_column(t, k).desc() if q.sort_dir == "desc" else _sort_column(t, k)
             for k in keys]
    columns: list[Any] = [t]
    if q.with_labels and any(KINDS[k].labels for k in q.kinds):
        columns.append(_labels_column(conn, t, q.at, tables))
    stmt = select(*columns).where(*_conditions(conn, q, t, tables)).order_by(*order)
    if not (q.vars and q.resolved_vars):
        with collector_paused():  # a long page is many rows and no cycles
            rows = list(conn.execute(stmt.limit(q.limit + 1)).all())
        return rows[:q.limit], len(rows) > q.limit
    # Matching on inherited values: resolve chunk by chunk until the page is full.
    page: list[Any] = []
    chunk, offset = max(q.limit * 4, 200), 0
    while True:
        rows = list(conn.execute(stmt.limit(chunk).offset(offset)).all())
        if not rows:
            return page, False
        values = resolved(conn, rows, q.at, tables)
        for row in rows:
            have = values[row.id]
            if all(k in have and have[k][0] == v for k, v in q.vars.items()):
                if len(page) == q.limit:
                    return page, True
                page.append(row)
        offset += chunk


def _labels_column(conn: Connection, t: Any, at: int | None, tables: Tables) -> Any:
    """Each listed row's labels, aggregated beside it: one query for a page, not two."""
    lab = tables.labels
    agg = func.array_agg(lab.c.label) if conn.dialect.name == "postgresql" \
        else func.json_group_array(lab.c.label)
    return select(agg).where(lab.c.resource_id == t.c.id, visible(lab, at)) \
        .scalar_subquery().label("labels")


def _row_labels(value: Any) -> list[str]:
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
        labels = {m["id"]: _row_labels(m["labels"]) for m in maps}
    elif any(KINDS[m["kind"]].labels for m in maps):
        labels = labels_of(conn, ids, at, tables)
    else:
        labels = {}
    variables = values_of(conn, tables.variables, ids, at) if details else {}
    return [present(m, labels=labels.get(m["id"]),
                    variables=variables.get(m["id"]) if details else None) for m in maps]


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
