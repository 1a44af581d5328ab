"""The naive way to know the past: fold the log up to a position in plain Python."""

from __future__ import annotations

from typing import Any

from eventsourcing.persistence import StoredEvent
from sqlalchemy import Connection

from craton.projections.projector import _kind_of, event_name
from craton.replay import _uuid, stored_batches

CHAIN = ("cell_id", "region_id", "cloud_id")


def fleet_as_of(conn: Connection, mapper: Any, position: int, kind: str = "host"
                ) -> dict[int, dict[str, Any]]:
    """Each live ``kind`` resource's resolved variables at ``position``, by its id."""
    by_uuid: dict[str, dict[str, Any]] = {}
    for rows in stored_batches(conn, 0, 5000, stop=position):
        for r in rows:
            ev = mapper.to_domain_event(StoredEvent(
                originator_id=_uuid(r.originator_id), originator_version=r.originator_version,
                topic=r.topic, state=bytes(r.state)))
            _fold(by_uuid, r.id, ev)
    by_id = {s["id"]: s for s in by_uuid.values() if not s["deleted"]}
    projects = {u: s for u, s in by_uuid.items() if s["kind"] == "project"}
    out: dict[int, dict[str, Any]] = {}
    for rid, state in by_id.items():
        if state["kind"] != kind:
            continue
        levels = [state] + [by_id[state["fields"][c]] for c in CHAIN
                            if state["fields"].get(c) in by_id]
        if state["project_id"] in projects:
            levels.append(projects[state["project_id"]])
        merged: dict[str, Any] = {}
        for level in reversed(levels):
            merged.update(level["variables"])
        out[rid] = merged
    return out


def _fold(by_uuid: dict[str, dict[str, Any]], position: int, ev: Any) -> None:
    uuid, name = str(ev.originator_id), event_name(ev)
    if name == "Registered":
        by_uuid[uuid] = {"id": position, "kind": _kind_of(ev), "project_id": ev.project_id,
                         "fields": dict(ev.fields), "variables": dict(ev.variables),
                         "deleted": False}
        return
    state = by_uuid.get(uuid)
    if state is None:
        return
    if name == "VariablesSet":
        state["variables"].update(ev.values)
    elif name == "VariablesDeleted":
        for key in ev.keys:
            state["variables"].pop(key, None)
    elif name == "Updated":
        state["fields"].update(ev.changes)
    elif name == "Placed":
        state["fields"]["host_id"] = ev.host_id
    elif name == "Deleted":
        state["deleted"] = True
