"""Variables, facts and labels of resources, own or resolved along their chain."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Table, select

from craton.batches import pieces
from craton.projections.rows import load_value
from craton.projections.tables import LIVE, Tables
from craton.projections.timeline import visible

CHAIN = ("cell_id", "region_id", "cloud_id")


def values_of(conn: Connection, table: Table, ids: list[int], at: int | None
              ) -> dict[int, dict[str, Any]]:
    """Key/value rows (variables or facts) of many resources, by resource id."""
    out: dict[int, dict[str, Any]] = {i: {} for i in ids}
    for chunk in pieces(ids):
        rows = conn.execute(
            select(table.c.resource_id, table.c.key, table.c.value)
            .where(table.c.resource_id.in_(chunk), visible(table, at))
        ).all()
        for rid, key, value in rows:
            out[rid][key] = load_value(value)
    return out


def labels_of(conn: Connection, ids: list[int], at: int | None,
              tables: Tables = LIVE) -> dict[int, list[str]]:
    t = tables.labels
    out: dict[int, list[str]] = {i: [] for i in ids}
    for chunk in pieces(ids):
        rows = conn.execute(
            select(t.c.resource_id, t.c.label)
            .where(t.c.resource_id.in_(chunk), visible(t, at))).all()
        for rid, label in rows:
            out[rid].append(label)
    for labels in out.values():  # code-point order, whatever the database's collation
        labels.sort()
    return out


def _rows_by_id(conn: Connection, ids: set[int], at: int | None,
                tables: Tables) -> dict[int, Any]:
    t = tables.resources
    out: dict[int, Any] = {}
    idl = sorted(ids)
    for chunk in pieces(idl):
        for row in conn.execute(select(t).where(t.c.id.in_(chunk), visible(t, at))).all():
            out[row.id] = row
    return out


def _projects_by_uuid(conn: Connection, uuids: set[str], at: int | None,
                      tables: Tables) -> dict[str, Any]:
    t = tables.resources
    rows = conn.execute(select(t).where(
        t.c.uuid.in_(sorted(uuids)), t.c.kind == "project", visible(t, at)))
    return {r.uuid: r for r in rows}


def chains(conn: Connection, rows: list[Any], at: int | None,
           tables: Tables = LIVE) -> dict[int, list[Any]]:
    """For each row, the rows its variables resolve through, nearest first."""
    known: dict[int, Any] = {r.id: r for r in rows}
    projects = _projects_by_uuid(
        conn, {r.project_id for r in rows if r.project_id}, at, tables)

    def fetch(ids: set[int]) -> None:
        missing = {i for i in ids if i is not None and i not in known}
        if missing:
            known.update(_rows_by_id(conn, missing, at, tables))

    # Parents and devices first (walked in rounds), then cells, regions, clouds.
    frontier = {x for r in rows for x in (r.parent_id, r.device_id) if x}
    while frontier:
        fetch(frontier)
        frontier = {known[i].parent_id for i in frontier
                    if i in known and known[i].parent_id and known[i].parent_id not in known}
    fetch({getattr(r, c) for r in list(known.values()) for c in CHAIN if getattr(r, c)})
    out: dict[int, list[Any]] = {}
    for row in rows:
        chain: list[Any] = [row]
        base = row
        if row.device_id and row.device_id in known:
            base = known[row.device_id]
            chain.append(base)
        parent = base.parent_id
        seen = {row.id, base.id}
        while parent and parent in known and parent not in seen:
            seen.add(parent)
            chain.append(known[parent])
            parent = known[parent].parent_id
        if row.kind != "project":
            for col in CHAIN:
                ref = getattr(base, col)
                if ref and ref in known and ref not in seen:
                    seen.add(ref)
                    chain.append(known[ref])
            if base.project_id in projects:
                chain.append(projects[base.project_id])
        out[row.id] = chain
    return out


def resolved(conn: Connection, rows: list[Any], at: int | None,
             tables: Tables = LIVE) -> dict[int, dict[str, tuple[Any, Any]]]:
    """Resolved variables of each row: key -> (value, row it came from).

    Rows of one fleet share most of their chain (cell, region, cloud,
    project), so what a chain's tail resolves to is merged once and shared.
    """
    by_row = chains(conn, rows, at, tables)
    ids = sorted({c.id for chain in by_row.values() for c in chain})
    own = values_of(conn, tables.variables, ids, at)
    tails: dict[tuple[int, ...], dict[str, tuple[Any, Any]]] = {}

    def tail_of(chain: list[Any]) -> dict[str, tuple[Any, Any]]:
        """What ``chain`` (nearest level first) resolves to, built from the farthest
        level in, each suffix kept for the rows that share it."""
        key = tuple([level.id for level in chain])
        start, merged = len(chain), {}
        for i in range(len(chain)):
            found = tails.get(key[i:])
            if found is not None:
                start, merged = i, found
                break
        for i in range(start - 1, -1, -1):
            merged = {**merged, **{k: (v, chain[i]) for k, v in own[chain[i].id].items()}}
            tails[key[i:]] = merged
        return merged

    out: dict[int, dict[str, tuple[Any, Any]]] = {}
    for rid, chain in by_row.items():
        merged = dict(tail_of(chain[1:])) if len(chain) > 1 else {}
        row = chain[0]
        merged.update({k: (v, row) for k, v in own[row.id].items()})
        out[rid] = merged
    return out
