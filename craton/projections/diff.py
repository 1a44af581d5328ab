"""What changed between two moments: created, changed field by field, deleted."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from craton.batches import pieces
from craton.projections.listing import public_id
from craton.projections.tables import LIVE, Tables
from craton.projections.timeline import visible
from craton.projections.variables import labels_of, values_of


def _state(conn: Connection, ids: list[int], at: int, tables: Tables
           ) -> dict[int, dict[str, Any]]:
    t = tables.resources
    rows: dict[int, Any] = {}
    for chunk in pieces(ids):
        for row in conn.execute(select(t).where(t.c.id.in_(chunk), visible(t, at))):
            rows[row.id] = row
    live = sorted(rows)
    variables = values_of(conn, tables.variables, live, at)
    facts = values_of(conn, tables.facts, live, at)
    labels = labels_of(conn, live, at, tables)
    return {
        rid: {"row": row, "fields": dict(row.data), "variables": variables[rid],
              "facts": facts[rid], "labels": labels[rid]}
        for rid, row in rows.items()
    }


def _dict_diff(old: dict[str, Any], new: dict[str, Any]) -> dict[str, list[Any]]:
    return {k: [old.get(k), new.get(k)] for k in sorted({*old, *new})
            if old.get(k) != new.get(k)}


def diff(conn: Connection, start: int, end: int, resource_type: str | None = None,
         project_id: str | None = None, tables: Tables = LIVE,
         hidden_kinds: tuple[str, ...] = (), after: int = 0, limit: int | None = None
         ) -> dict[str, Any]:
    """Compare the fleet at ``start`` with the fleet at ``end`` (positions), leaving out
    resources of ``hidden_kinds``: of the resources touched in between, by id, those
    after ``after``, at most ``limit`` of them (None: all). ``more`` says whether
    others follow, ``last`` is the last id compared (the next page's ``after``)."""
    e = tables.events
    conds = [e.c.position > start, e.c.position <= end, e.c.resource_id > after]
    if resource_type:
        conds.append(e.c.kind == resource_type)
    if hidden_kinds:
        conds.append(e.c.kind.not_in(hidden_kinds))
    if project_id is not None:
        conds.append(e.c.project_id == project_id)
    query = select(e.c.resource_id).where(*conds).distinct().order_by(e.c.resource_id)
    if limit is not None:
        query = query.limit(limit + 1)
    touched = list(conn.execute(query).scalars())
    more = limit is not None and len(touched) > limit
    touched = touched[:limit] if limit is not None else touched
    at_start, at_end = (_state(conn, touched, start, tables),
                        _state(conn, touched, end, tables))
    created, changed, deleted = [], [], []
    for rid in touched:
        old, new = at_start.get(rid), at_end.get(rid)
        if old is None and new is None:
            continue
        ref = (new or old)["row"]  # type: ignore[index]
        item = {"resource_type": ref.kind, "id": public_id(ref),
                "name": ref.name}
        if old is None:
            created.append({**item, "fields": new["fields"],  # type: ignore[index]
                            "variables": new["variables"], "labels": new["labels"]})  # type: ignore[index]
        elif new is None:
            deleted.append({**item, "fields": old["fields"]})
        else:
            change = {part: _dict_diff(old[part], new[part])
                      for part in ("fields", "variables", "facts")}
            labels = {"added": sorted(set(new["labels"]) - set(old["labels"])),
                      "removed": sorted(set(old["labels"]) - set(new["labels"]))}
            change = {k: v for k, v in change.items() if v}
            if labels["added"] or labels["removed"]:
                change["labels"] = labels  # type: ignore[assignment]
            if change:
                changed.append({**item, "changes": change})
    return {"created": created, "changed": changed, "deleted": deleted, "more": more,
            "last": touched[-1] if touched else None}
