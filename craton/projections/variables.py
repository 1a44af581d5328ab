"""Variables, facts and labels of resources, own or resolved along their chain."""

from __future__ import annotations

from functools import lru_cache
from operator import itemgetter
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Connection,
    Select,
    Table,
    Text,
    any_,
    bindparam,
    cast,
    func,
    literal_column,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY

from craton import codec
from craton.batches import pieces
from craton.collector import collector_paused
from craton.db import fetch
from craton.projections.pages import of_resources, visible_bound
from craton.projections.tables import LIVE, Tables

CHAIN = ("cell_id", "region_id", "cloud_id")
# The columns a chain follows, in this order (indexes below).
LINKS = ("kind", "project_id", "parent_id", "device_id", *CHAIN)
KIND, P, PARENT, DEVICE, CELL, REGION, CLOUD = range(len(LINKS))
# The columns of the rows handed to ``resolved`` that resolving reads.
RESOLVES = ("id", *LINKS)
_links = itemgetter(*LINKS)
# Resources per statement of ``values_of``: many more, and PostgreSQL's planner
# judges a scan of the whole table cheaper than the index (it is not, by half).
DOCUMENTS_CHUNK = 2000


def values_of(conn: Connection, table: Table, ids: list[int], at: int | None
              ) -> dict[int, dict[str, Any]]:
    """Key/value rows (variables or facts) of many resources, by resource id.

    The database joins each resource's rows into the text of one JSON object
    (values are stored as JSON text already), so a fleet's worth of variables
    comes back as a row per resource, all of them parsed at once.
    """
    out: dict[int, dict[str, Any]] = {i: {} for i in ids}
    found = members_of(conn, table, ids, at)
    if found:
        objects = codec.loads_objects([members for _, members in found])
        out.update(zip([rid for rid, _ in found], objects, strict=True))
    return out


def members_of(conn: Connection, table: Table, ids: list[int], at: int | None
               ) -> list[tuple[int, str]]:
    """``values_of`` unparsed: each resource in ``ids`` that has key/value rows, with
    the members of their JSON object as text (``"key":value,...``), through the
    driver (each statement's ids bound as one array)."""
    if not ids:
        return []
    statement = documents_statement(table, conn.dialect.name, at is not None)
    postgres = conn.dialect.name == "postgresql"
    found: list[tuple[int, str]] = []
    for chunk in pieces(ids, DOCUMENTS_CHUNK):
        listed = ",".join(map(str, chunk))
        _, rows = fetch(conn, statement,
                        {"ids": f"{{{listed}}}" if postgres else f"[{listed}]", "at": at})
        found += rows
    return found


@lru_cache(maxsize=32)
def documents_statement(table: Table, dialect: str, past: bool) -> Select[Any]:
    """Each resource in ``:ids`` with the members of its key/value rows' JSON object
    (``"key":value`` pairs joined by commas), now or at ``:at``. ``:ids`` is bound
    whole, as text: a PostgreSQL array's, or a JSON array's on SQLite."""
    rid = table.c.resource_id
    if dialect == "postgresql":
        # (one text parameter: an ARRAY[...] of 20,000 numbers is parsed and planned
        # slowly, and misjudged into a sequential scan)
        wanted = rid == any_(cast(bindparam("ids", type_=Text), ARRAY(BigInteger)))
    else:  # SQLite's JSON functions
        wanted = rid.in_(select(literal_column("value"))
                         .select_from(func.json_each(bindparam("ids"))).scalar_subquery())
    return (select(rid, _members(table, dialect)).where(wanted, visible_bound(table, past))
            .group_by(rid))


def members_column(table: Table, resources: Table, dialect: str, past: bool) -> Any:
    """``documents_statement``'s members as a column of a statement over ``resources``:
    those of each row's resource (None for none)."""
    return (select(_members(table, dialect))
            .where(table.c.resource_id == resources.c.id, visible_bound(table, past))
            .scalar_subquery())


def _members(table: Table, dialect: str) -> Any:
    """Key/value rows joined into the members of a JSON object."""
    key, value = table.c.key, table.c.value
    colon: ColumnElement[str] = literal_column("':'")
    comma: ColumnElement[str] = literal_column("','")
    if dialect == "postgresql":
        return func.string_agg(cast(func.to_json(key), Text).concat(colon).concat(value), comma)
    return func.group_concat(func.json_quote(key).concat(colon).concat(value), comma)


def labels_of(conn: Connection, ids: list[int], at: int | None,
              tables: Tables = LIVE) -> dict[int, list[str]]:
    t = tables.labels
    out: dict[int, list[str]] = {i: [] for i in ids}
    statement = of_resources(t, ("resource_id", "label"), "resource_id", at is not None)
    for chunk in pieces(ids):
        for rid, label in conn.execute(statement, {"ids": chunk, "at": at}).all():
            out[rid].append(label)
    for labels in out.values():  # code-point order, whatever the database's collation
        labels.sort()
    return out


def _rows_by_id(conn: Connection, ids: set[int], at: int | None,
                tables: Tables) -> dict[int, Any]:
    t = tables.resources
    out: dict[int, Any] = {}
    statement = of_resources(t, None, "id", at is not None)
    for chunk in pieces(sorted(ids)):
        for row in conn.execute(statement, {"ids": chunk, "at": at}).all():
            out[row._mapping["id"]] = row
    return out


def _projects_by_uuid(conn: Connection, uuids: set[str], at: int | None,
                      tables: Tables) -> dict[str, Any]:
    """The project rows, now or as of ``at``, by uuid.

    Only current rows are indexed by uuid, and a project keeps its id for life, so
    a past read takes each project's id from its current row and then the row true
    at ``at`` by id (an index probe each); a project deleted since is looked for by
    uuid among every version (a scan of the table).
    """
    t = tables.resources
    if not uuids:
        return {}
    current = {r.uuid: r for r in conn.execute(of_resources(t, None, "uuid", False),
                                               {"ids": sorted(uuids)}) if r.kind == "project"}
    if at is None:
        return current
    found = {r.uuid: r for r in _rows_by_id(conn, {r.id for r in current.values()}, at,
                                            tables).values() if r.kind == "project"}
    gone = uuids - current.keys()
    if gone:
        rows = conn.execute(of_resources(t, None, "uuid", True),
                            {"ids": sorted(gone), "at": at})
        found.update({r.uuid: r for r in rows if r.kind == "project"})
    return found


Above = tuple[Any, list[Any], tuple[int, ...]]  # a row, the rows above it and their ids


def chains(conn: Connection, rows: list[Any], at: int | None, tables: Tables = LIVE
           ) -> dict[int, Above]:
    """For each row: itself, the rows its variables resolve through (nearest first) and
    their ids. Rows that share what lies above them share one list and one tuple."""
    known: dict[int, Any] = {}  # id -> row
    links: dict[int, tuple[Any, ...]] = {}  # id -> the row's columns a chain follows

    def keep(found: Any) -> int:
        m = found._mapping  # by key: a Row's attributes are slow
        rid: int = m["id"]
        known[rid] = found
        links[rid] = _links(m)
        return rid

    order = [keep(row) for row in rows]
    projects = _projects_by_uuid(
        conn, {link[P] for link in links.values() if link[P]}, at, tables)

    def fetch(ids: set[int]) -> None:
        missing = {i for i in ids if i is not None and i not in known}
        for found in _rows_by_id(conn, missing, at, tables).values() if missing else ():
            keep(found)

    # Parents and devices first (walked in rounds), then cells, regions, clouds.
    frontier = {x for link in links.values() for x in (link[PARENT], link[DEVICE]) if x}
    while frontier:
        fetch(frontier)
        frontier = {links[i][PARENT] for i in frontier
                    if i in links and links[i][PARENT] and links[i][PARENT] not in links}
    fetch({link[c] for link in list(links.values()) for c in (CELL, REGION, CLOUD)
           if link[c]})

    def above(rid: int, link: tuple[Any, ...]) -> tuple[list[Any], list[int]]:
        """The rows above ``rid`` (nearest first) and their ids."""
        chain: list[Any] = []
        ids: list[int] = []
        base, base_id = link, rid
        if link[DEVICE] and link[DEVICE] in known:
            base_id = link[DEVICE]
            base = links[base_id]
            chain.append(known[base_id])
            ids.append(base_id)
        parent = base[PARENT]
        seen = {rid, base_id}
        while parent and parent in known and parent not in seen:
            seen.add(parent)
            chain.append(known[parent])
            ids.append(parent)
            parent = links[parent][PARENT]
        if link[KIND] != "project":
            for col in (CELL, REGION, CLOUD):
                ref = base[col]
                if ref and ref in known and ref not in seen:
                    seen.add(ref)
                    chain.append(known[ref])
                    ids.append(ref)
            project = projects.get(base[P]) if base[P] else None
            if project is not None:
                chain.append(project)
                ids.append(project._mapping["id"])
        return chain, ids

    # Most rows (a fleet's hosts) have neither parent nor device: what lies above
    # them depends only on their cell, region, cloud and project, worked out once.
    shared: dict[tuple[Any, ...], tuple[list[Any], tuple[int, ...]]] = {}
    out: dict[int, Above] = {}
    for rid, row in zip(order, rows, strict=True):
        link = links[rid]
        if link[PARENT] or link[DEVICE] or rid in (link[CELL], link[REGION], link[CLOUD]):
            chain, ids = above(rid, link)
            out[rid] = (row, chain, tuple(ids))
            continue
        key = link[KIND] == "project", link[CELL], link[REGION], link[CLOUD], link[P]
        tail = shared.get(key)
        if tail is None:
            chain, ids = above(rid, link)
            tail = shared[key] = chain, tuple(ids)
        out[rid] = (row, *tail)
    return out


def resolved(conn: Connection, rows: list[Any], at: int | None,
             tables: Tables = LIVE) -> dict[int, dict[str, tuple[Any, Any]]]:
    """Resolved variables of each row: key -> (value, row it came from).

    Rows of one fleet share most of their chain (cell, region, cloud,
    project), so what a chain's tail resolves to is merged once and shared.
    """
    with collector_paused():  # tens of thousands of acyclic tuples and dicts: no cycles
        return _resolved(conn, rows, at, tables, sources=True)


def resolved_values(conn: Connection, rows: list[Any], at: int | None,
                    tables: Tables = LIVE) -> dict[int, dict[str, Any]]:
    """Resolved variables of each row: key -> value (``resolved`` without where from)."""
    with collector_paused():
        return _resolved(conn, rows, at, tables, sources=False)


def _resolved(conn: Connection, rows: list[Any], at: int | None,
              tables: Tables, sources: bool) -> dict[int, dict[str, Any]]:
    by_row = chains(conn, rows, at, tables)
    wanted = set(by_row)
    for ids in {id(above): above for _row, _chain, above in by_row.values()}.values():
        wanted.update(ids)
    own = values_of(conn, tables.variables, sorted(wanted), at)
    tails: dict[tuple[int, ...], dict[str, Any]] = {(): {}}

    def level(rid: int, row: Any) -> dict[str, Any]:
        """What one level of a chain sets: values, or (value, row) pairs."""
        values = own[rid]
        return {k: (v, row) for k, v in values.items()} if sources else values

    def tail_of(chain: list[Any], key: tuple[int, ...]) -> dict[str, Any]:
        """What ``chain`` (nearest level first, ids ``key``) resolves to, built from the
        farthest level in, each suffix kept for the rows that share it."""
        start, merged = len(chain), {}
        for i in range(len(chain)):
            found = tails.get(key[i:])
            if found is not None:
                start, merged = i, found
                break
        for i in range(start - 1, -1, -1):
            merged = {**merged, **level(key[i], chain[i])}
            tails[key[i:]] = merged
        return merged

    out: dict[int, dict[str, Any]] = {}
    for rid, (row, chain, ids) in by_row.items():
        tail = tails.get(ids)
        if tail is None:
            tail = tail_of(chain, ids)
        out[rid] = {**tail, **level(rid, row)}
    return out
