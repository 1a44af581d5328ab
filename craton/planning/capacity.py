"""Capacity as the ledger records it, read at one position, as a planner's input."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, select

from craton.batches import pieces
from craton.domain.errors import InvalidInput
from craton.planning.model import HostCapacity, InstanceDemand, InstanceGroup
from craton.projections.listing import ListQuery, list_rows
from craton.projections.tables import LIVE
from craton.projections.timeline import visible
from craton.projections.variables import labels_of, resolved_values, values_of

SCOPES = ("cloud_id", "region_id", "cell_id", "label", "hosts")
# The resolved variables a host's capacity and cost are read from.
# (by name, the field of HostCapacity each sets; 1.0 where unset)
SIZING_VARIABLES = {"cpu_allocation_ratio": "cpu_ratio", "ram_allocation_ratio": "ram_ratio",
                    "disk_allocation_ratio": "disk_ratio", "asset_cost": "asset_cost"}


@dataclass
class Capacity:
    """Hosts, instances and groups in a scope, at one event position."""

    position: int
    hosts: list[HostCapacity] = field(default_factory=list)
    instances: list[InstanceDemand] = field(default_factory=list)
    groups: list[InstanceGroup] = field(default_factory=list)


def _number(value: Any, default: float) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) \
        else default


def read_capacity(conn: Connection, project_id: str | None, scope: dict[str, Any],
                  position: int, constraints: dict[str, Any] | None = None) -> Capacity:
    """Everything a planner needs, as of ``position``.

    Host capacity comes from facts (memory total minus reserved), allocation
    ratios and ``asset_cost`` from resolved variables; hosts labelled or
    listed as ``pinned`` stay as they are, ``maintenance`` ones are emptied.
    """
    unknown = set(scope) - set(SCOPES)
    if unknown:
        raise InvalidInput(f"unknown scope keys: {', '.join(sorted(unknown))}",
                           {"scope": [f"allowed: {', '.join(SCOPES)}"]})
    constraints = constraints or {}
    filters: dict[str, Any] = {
        k: scope[k] for k in ("cloud_id", "region_id", "cell_id") if k in scope}
    labels = [scope["label"]] if scope.get("label") else []
    q = ListQuery(kinds=("host",), project_id=project_id, filters=filters, labels=labels,
                  limit=100_000, at=position)
    rows, _ = list_rows(conn, q)
    if "hosts" in scope:
        wanted = set(scope["hosts"])
        rows = [r for r in rows if r.id in wanted]
    ids = [r.id for r in rows]
    facts = values_of(conn, LIVE.facts, ids, position)
    variables = resolved_values(conn, rows, position)
    host_labels = labels_of(conn, ids, position)
    pinned = set(constraints.get("pinned_hosts", []))
    maintenance = set(constraints.get("maintenance_hosts", []))
    out = Capacity(position=position)
    for row in rows:
        f, v = facts[row.id], variables[row.id]
        data = row.data
        memory = _number(f.get("memory_total_mb"), 0) - _number(f.get("memory_reserved_mb"), 0)
        out.hosts.append(HostCapacity(
            id=row.id, name=row.name, cell_id=row.cell_id,
            vcpus=_number(f.get("vcpus"), 0), memory_mb=max(memory, 0),
            disk_gb=_number(f.get("disk_gb"), 0),
            **{field: _number(v.get(name), 1.0) for name, field in SIZING_VARIABLES.items()},
            active=bool(data.get("active", True)),
            schedulable=bool(data.get("schedulable", True)),
            pinned=row.id in pinned or "pinned" in host_labels[row.id],
            maintenance=row.id in maintenance or "maintenance" in host_labels[row.id]
            or data.get("status") == "maintenance"))
    _instances(conn, out, ids, position)
    return out


def _instances(conn: Connection, out: Capacity, host_ids: list[int], position: int) -> None:
    t = LIVE.resources
    group_ids: set[int] = set()
    for chunk in pieces(host_ids):
        for row in conn.execute(select(t).where(
                t.c.kind == "instance", t.c.host_id.in_(chunk), visible(t, position))):
            groups = tuple(row.data.get("group_ids") or ())
            group_ids.update(groups)
            out.instances.append(InstanceDemand(
                id=row.id, name=row.name, host_id=row.host_id,
                vcpus=_number(row.data.get("vcpus"), 1),
                memory_mb=_number(row.data.get("memory_mb"), 0),
                disk_gb=_number(row.data.get("disk_gb"), 0), group_ids=groups))
    if group_ids:
        for row in conn.execute(select(t).where(
                t.c.id.in_(sorted(group_ids)), visible(t, position))):
            out.groups.append(InstanceGroup(id=row.id, name=row.name,
                                            policy=row.data["policy"]))
    known = {g.id for g in out.groups}  # a group deleted since stays out of the plan
    out.instances = [i if set(i.group_ids) <= known else InstanceDemand(
        i.id, i.name, i.host_id, i.vcpus, i.memory_mb, i.disk_gb,
        tuple(g for g in i.group_ids if g in known)) for i in out.instances]
