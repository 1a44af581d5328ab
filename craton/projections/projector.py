"""Turns domain events into read-model rows, in the transaction that stores them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from functools import cache
from typing import Any

from eventsourcing.domain import DomainEventProtocol
from eventsourcing.utils import resolve_topic
from sqlalchemy import Connection

from craton.domain.kinds import KINDS, REFERENCE_FIELDS
from craton.projections.bulk import Pending
from craton.projections.rows import Batch, Row, dump_value, load_value
from craton.projections.tables import Tables

COLUMN_FIELDS = (*REFERENCE_FIELDS, "device_type", "ip_address", "active")
Positioned = tuple[int, DomainEventProtocol[Any]]


def event_name(event: object) -> str:
    return type(event).__qualname__.rsplit(".", 1)[-1]


class Projector:
    """Applies events, in position order, to one set of read-model tables."""

    def __init__(self, tables: Tables):
        self.tables = tables

    def apply(self, conn: Connection, events: Sequence[Positioned],
              known: dict[str, Row] | None = None,
              pending: Pending | None = None) -> dict[int, Row]:
        """Project events; ``known`` holds current rows the caller already read, and
        ``pending`` writes the caller holds for the same round trip.

        Returns the resulting current rows of the resources touched, by id.
        """
        batch = Batch(conn, self.tables)
        batch.by_uuid.update({u: dict(r) for u, r in (known or {}).items()})
        born = {e.originator_id for _, e in events if e.originator_version == 1}
        batch.preload([str(e.originator_id) for _, e in events  # (not those born here)
                       if e.originator_version > 1 and e.originator_id not in born])
        self._preload_values(batch, events)
        self.project(batch, events)
        current = {r["id"]: r for r in (*batch.new_resources, *batch.touched.values())
                   if r["valid_to"] is None}
        batch.flush(pending)
        return current

    def project(self, batch: Any, events: Sequence[Positioned]) -> None:
        """Apply events to a batch of rows (a ``Batch``, or a replay's ``HeldBatch``)."""
        apply_one = self.apply_one
        for position, event in events:
            apply_one(batch, position, event)

    def _preload_values(self, batch: Batch, events: Sequence[Positioned]) -> None:
        """Read the current variables, facts, labels and groups a batch changes, at once."""
        wanted: dict[Any, set[int]] = {}
        for _, event in events:
            keyed = _reads(event)
            row = batch.by_uuid.get(str(event.originator_id)) if keyed else None
            if row is not None:
                for name in keyed:
                    wanted.setdefault(name, set()).add(row["id"])
        for name, ids in wanted.items():
            getattr(batch, name).load(sorted(ids))

    def apply_one(self, batch: Batch, position: int, event: Any) -> None:
        name = event_name(event)
        uuid = str(event.originator_id)
        time: datetime = event.timestamp
        if name == "Registered":
            row = self._registered(batch, position, event, uuid, time)
            changes = _registered_changes(row, event)
        else:
            old = batch.resource(uuid)
            if old is None:  # an aggregate without inventory rows (runs, plans)
                self._log(batch, position, event, name, None, None, {}, uuid)
                return
            handler = getattr(self, f"_on_{name}", None)
            if handler is not None:
                changes = handler(batch, old, event, position, time)
            elif isinstance(getattr(event, "changes", None), dict):
                changes = self._on_Updated(batch, old, event, position, time)
            else:  # a step of a run, say: logged with its details, no new version
                self._touch(batch, old, event, time)
                changes = {"detail": _detail(event)}
            row = old
        self._log(batch, position, event, name, row, row["kind"], changes, uuid)

    # -- helpers --------------------------------------------------------------
    def _log(self, batch: Batch, position: int, event: Any, name: str,
             row: Row | None, kind: str | None, changes: dict[str, Any],
             uuid: str) -> None:
        meta = getattr(event, "meta", {}) or {}
        kind = kind or getattr(event, "kind", None) or type(event).__qualname__.split(".")[0]
        batch.events.append({
            "position": position, "time": event.timestamp,
            "event_type": _event_type(str(kind), name), "kind": kind,
            "resource_id": row["id"] if row else None, "uuid": uuid,
            "version": event.originator_version,
            "project_id": _project_of(row) if row else meta.get("project_id"),
            "actor_id": meta.get("actor_id"), "actor_name": meta.get("actor_name", "?"),
            "source": meta.get("source", "system"), "request_id": meta.get("request_id"),
            "reason": meta.get("reason"), "run_id": meta.get("run_id"),
            "changes": changes,
        })

    def _registered(self, batch: Batch, position: int, event: Any, uuid: str,
                    time: datetime) -> Row:
        kind = _kind_of(event)
        fields = dict(event.fields)
        row: Row = {
            "id": position, "uuid": uuid, "kind": kind, "project_id": event.project_id,
            "version": event.originator_version, "created_at": time, "updated_at": time,
            "secret": None, "labels_json": None, "variables_json": None,
        }
        _fill(row, kind, event.project_id, fields)
        row.update(valid_from=position, valid_to=None, from_time=time, to_time=None)
        batch.open_resource(row)
        batch.variables.current.setdefault(position, {})
        batch.labels.current.setdefault(position, {})
        batch.facts.current.setdefault(position, {})
        batch.members.current.setdefault(position, {})
        for key, value in event.variables.items():
            batch.variables.put(position, key, {"value": dump_value(value)}, position, time)
        for label in event.labels:
            batch.labels.put(position, label, {}, position, time)
        if event.variables:
            batch.documents.variables_changed(position)
        if event.labels:
            batch.documents.labels_changed(position)
        for group_id in fields.get("group_ids") or []:
            batch.members.put(position, group_id, {}, position, time)
        return row

    def _next_version(self, batch: Batch, old: Row, event: Any, position: int,
                      time: datetime, **changes: Any) -> Row:
        batch.close_resource(old, position, time)
        row = dict(old)
        row.pop("row_id", None)
        row.update(changes, version=event.originator_version, updated_at=time,
                   valid_from=position, valid_to=None, from_time=time, to_time=None)
        batch.open_resource(row)
        return row

    def _touch(self, batch: Any, row: Row, event: Any, time: datetime) -> Row:
        """The current row now stands at ``event``: its version and update time move
        on in place. What it describes is unchanged, so no new version is written
        (a past read takes both from the events read model instead)."""
        row.update(version=event.originator_version, updated_at=time)
        batch.touch_resource(row)
        return row

    # -- handlers: each returns the field-level change ---------------------------
    def _on_Updated(self, batch: Batch, old: Row, event: Any, position: int,
                    time: datetime) -> dict[str, Any]:
        data = {**old["data"], **event.changes}
        row = self._next_version(batch, old, event, position, time)
        _fill(row, row["kind"], row["project_id"], data)
        if "group_ids" in event.changes:
            self._regroup(batch, row["id"], event.changes["group_ids"] or [], position, time)
        return {"fields": {k: [old["data"].get(k), v] for k, v in event.changes.items()}}

    def _on_Placed(self, batch: Batch, old: Row, event: Any, position: int,
                   time: datetime) -> dict[str, Any]:
        data = {**old["data"], "host_id": event.host_id}
        row = self._next_version(batch, old, event, position, time)
        _fill(row, row["kind"], row["project_id"], data)
        return {"fields": {"host_id": [event.from_host_id, event.host_id]}}

    def _regroup(self, batch: Batch, rid: int, groups: Iterable[int], position: int,
                 time: datetime) -> None:
        current = batch.members.of(rid)
        wanted = set(groups)
        for gid in [g for g in current if g not in wanted]:
            batch.members.drop(rid, gid, position, time)
        for gid in sorted(wanted - set(current)):
            batch.members.put(rid, gid, {}, position, time)

    def _on_VariablesSet(self, batch: Batch, old: Row, event: Any, position: int,
                         time: datetime) -> dict[str, Any]:
        batch.documents.variables_changed(old["id"])
        return {"variables": self._put_values(batch.variables, batch, old, event.values,
                                              event, position, time)}

    def _on_FactsRecorded(self, batch: Batch, old: Row, event: Any, position: int,
                          time: datetime) -> dict[str, Any]:
        return {"facts": self._put_values(batch.facts, batch, old, event.facts,
                                          event, position, time)}

    def _put_values(self, keyed: Any, batch: Batch, old: Row, values: dict[str, Any],
                    event: Any, position: int, time: datetime) -> dict[str, Any]:
        row = self._touch(batch, old, event, time)
        current = keyed.of(row["id"])
        change = {}
        for key, value in values.items():
            before = current.get(key)
            change[key] = [load_value(before["value"]) if before else None, value]
            keyed.put(row["id"], key, {"value": dump_value(value)}, position, time)
        return change

    def _on_VariablesDeleted(self, batch: Batch, old: Row, event: Any, position: int,
                             time: datetime) -> dict[str, Any]:
        row = self._touch(batch, old, event, time)
        current = batch.variables.of(row["id"])
        batch.documents.variables_changed(row["id"])
        change = {}
        for key in event.keys:
            if key in current:
                change[key] = [load_value(current[key]["value"]), None]
                batch.variables.drop(row["id"], key, position, time)
        return {"variables": change}

    def _on_LabelsAdded(self, batch: Batch, old: Row, event: Any, position: int,
                        time: datetime) -> dict[str, Any]:
        row = self._touch(batch, old, event, time)
        batch.documents.labels_changed(row["id"])
        for label in event.labels:
            batch.labels.put(row["id"], label, {}, position, time)
        return {"labels": {"added": list(event.labels), "removed": []}}

    def _on_LabelsRemoved(self, batch: Batch, old: Row, event: Any, position: int,
                          time: datetime) -> dict[str, Any]:
        row = self._touch(batch, old, event, time)
        batch.documents.labels_changed(row["id"])
        for label in event.labels:
            batch.labels.drop(row["id"], label, position, time)
        return {"labels": {"added": [], "removed": list(event.labels)}}

    def _on_TokenIssued(self, batch: Batch, old: Row, event: Any, position: int,
                        time: datetime) -> dict[str, Any]:
        self._next_version(batch, old, event, position, time, secret=event.token_hash)
        return {"token": "issued"}

    def _on_Deleted(self, batch: Batch, old: Row, event: Any, position: int,
                    time: datetime) -> dict[str, Any]:
        batch.close_resource(old, position, time)
        rid = old["id"]
        for keyed in (batch.variables, batch.facts, batch.labels, batch.members):
            for key in list(keyed.of(rid)):
                keyed.drop(rid, key, position, time)
        return {"deleted": True}


# Which current values each kind of event reads, so a batch can read them in one go.
_KEYED = {
    "VariablesSet": ("variables",), "VariablesDeleted": ("variables",),
    "FactsRecorded": ("facts",), "LabelsAdded": ("labels",), "LabelsRemoved": ("labels",),
    "Deleted": ("variables", "facts", "labels", "members"),
}


def _reads(event: Any) -> tuple[str, ...]:
    """The current values an event's handler reads (an update: groups, if it moves them)."""
    name = event_name(event)
    if name == "Updated":
        return ("members",) if "group_ids" in event.changes else ()
    return _KEYED.get(name, ())
STANDARD_ATTRIBUTES = {"originator_id", "originator_version", "timestamp", "meta",
                       "originator_topic"}


@cache
def _event_type(kind: str, name: str) -> str:
    """``Host.VariablesSet``, say."""
    return "".join(p.capitalize() for p in kind.split("-")) + "." + name


def _project_of(row: Row) -> str | None:
    """The project a resource's events belong to: a project's own are its own (their
    readers filter the audit trail and the diff by it, and a project's variables are
    inherited by everything in it)."""
    return str(row["uuid"]) if row["kind"] == "project" else row["project_id"]


def _detail(event: Any) -> dict[str, Any]:
    return {k: v for k, v in vars(event).items() if k not in STANDARD_ATTRIBUTES}


def _kind_of(event: Any) -> str:
    return str(resolve_topic(event.originator_topic).KIND)


def _fill(row: Row, kind: str, project_id: str | None, data: dict[str, Any]) -> None:
    """Set the indexed columns of a resource row from its fields."""
    row["data"] = data
    row["name"] = data.get("name")
    row["unique_key"] = KINDS[kind].unique_key(project_id, data)
    for column in COLUMN_FIELDS:
        row[column] = data.get(column)


def _registered_changes(row: Row, event: Any) -> dict[str, Any]:
    changes: dict[str, Any] = {"fields": {k: [None, v] for k, v in row["data"].items()}}
    if event.variables:
        changes["variables"] = {k: [None, v] for k, v in event.variables.items()}
    if event.labels:
        changes["labels"] = {"added": list(event.labels), "removed": []}
    return changes
