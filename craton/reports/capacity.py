"""Report ``unused-capacity``: idle memory and vCPUs on hosts and cells, and what it costs."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, func, or_, select

from craton.batches import pieces
from craton.projections.tables import LIVE
from craton.projections.timeline import visible
from craton.projections.variables import resolved_values, values_of
from craton.reports.base import BaseReport, Cell, Chart, ReportData, Table, Window
from craton.reports.queries import resources_at

NO_CELL = "(no cell)"


@dataclass
class HostUse:
    """Capacity and use of one host as of the window's end."""

    id: int
    name: str
    cell: str
    active: bool
    memory_usable: float
    memory_used: float
    vcpus: float
    vcpus_used: float
    instances: int
    usage_source: str
    asset_cost: float | None

    @property
    def memory_idle(self) -> float:
        return max(self.memory_usable - self.memory_used, 0.0)

    @property
    def vcpus_idle(self) -> float:
        return max(self.vcpus - self.vcpus_used, 0.0)

    @property
    def idle_share(self) -> float:
        """The share of the host nothing uses: the lesser idle share of memory and vCPUs."""
        shares = [idle / total for idle, total in ((self.memory_idle, self.memory_usable),
                                                   (self.vcpus_idle, self.vcpus)) if total > 0]
        return round(min(shares), 4) if shares else 0.0

    @property
    def empty(self) -> bool:
        return self.instances == 0 and self.memory_used <= 0 and self.vcpus_used <= 0

    @property
    def idle_cost(self) -> float | None:
        return None if self.asset_cost is None else round(self.asset_cost * self.idle_share, 2)


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


USE_FACTS = ("memory_used_mb", "vcpus_used")


def _last_moves(conn: Connection, at: int) -> dict[int, int]:
    """For each host, the position of the last instance placed on it or moved off it
    (up to ``at``): instance versions whose host differs from the version before
    (another change to an instance moves nothing), and instances deleted."""
    t = LIVE.resources
    by_instance = {"partition_by": t.c.id, "order_by": t.c.valid_from}
    versions = select(
        t.c.host_id, func.lag(t.c.host_id).over(**by_instance).label("was_on"),  # type: ignore[arg-type]
        func.lead(t.c.valid_from).over(**by_instance).label("next_from"),  # type: ignore[arg-type]
        t.c.valid_from, t.c.valid_to,
    ).where(t.c.kind == "instance", t.c.valid_from <= at).subquery()
    v = versions.c
    gone = and_(v.next_from.is_(None), v.valid_to <= at)  # the instance's last version
    out: dict[int, int] = {}
    rows = conn.execute(select(v.host_id, v.was_on, v.valid_from, v.valid_to, gone).where(
        or_(v.host_id.is_distinct_from(v.was_on), gone)))
    for host_id, was_on, since, until, deleted in rows:
        moves = [(host_id, until)] if deleted else []
        if host_id != was_on:
            moves += [(host_id, since), (was_on, since)]
        for host, position in moves:
            if host is not None:
                out[host] = max(out.get(host, 0), position)
    return out


def _use_measured(conn: Connection, ids: list[int], at: int) -> dict[int, int]:
    """For each host, the position its use was last measured at (its use facts)."""
    f = LIVE.facts
    out: dict[int, int] = {}
    for chunk in pieces(ids):
        rows = conn.execute(select(f.c.resource_id, func.max(f.c.valid_from)).where(
            f.c.resource_id.in_(chunk), f.c.key.in_(USE_FACTS), visible(f, at),
        ).group_by(f.c.resource_id))
        out.update({rid: position for rid, position in rows})
    return out


def _load(conn: Connection, at: int, project_id: str | None) -> tuple[list[HostUse], int]:
    hosts = resources_at(conn, "host", at, project_id)
    cells = {c.id: c.name for c in resources_at(conn, "cell", at, None)}
    facts = values_of(conn, LIVE.facts, [h.id for h in hosts], at)
    # Use facts are a measurement: once an instance moves on or off a host after it,
    # the ledger's placements say more than the facts do, until the next audit.
    moved, measured = _last_moves(conn, at), _use_measured(conn, [h.id for h in hosts], at)
    costs = resolved_values(conn, hosts, at) if hosts else {}
    load: dict[int, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])
    for inst in resources_at(conn, "instance", at, None):
        if inst.host_id is not None:
            entry = load[inst.host_id]
            entry[0] += float(inst.data.get("memory_mb") or 0)
            entry[1] += float(inst.data.get("vcpus") or 0)
            entry[2] += 1
    out, unmeasured = [], 0
    for host in hosts:
        f = facts.get(host.id, {})
        total, vcpus = _number(f.get("memory_total_mb")), _number(f.get("vcpus"))
        if total is None and vcpus is None:
            unmeasured += 1
            continue
        mem_used, cpu_used = _number(f.get("memory_used_mb")), _number(f.get("vcpus_used"))
        if moved.get(host.id, 0) > measured.get(host.id, 0):
            mem_used = cpu_used = None  # measured before the last move
        placed = load.get(host.id, [0.0, 0.0, 0.0])
        known = (mem_used is not None, cpu_used is not None)
        source = "facts" if all(known) else "instances" if not any(known) else "facts+instances"
        cost = costs.get(host.id, {}).get("asset_cost")
        out.append(HostUse(
            id=host.id, name=host.name, cell=cells.get(host.cell_id, NO_CELL),
            active=bool(host.active),
            memory_usable=(total or 0.0) - (_number(f.get("memory_reserved_mb")) or 0.0),
            memory_used=mem_used if mem_used is not None else placed[0],
            vcpus=vcpus or 0.0, vcpus_used=cpu_used if cpu_used is not None else placed[1],
            instances=int(placed[2]), usage_source=source,
            asset_cost=_number(cost)))
    return out, unmeasured


def hosts_needed(hosts: list[HostUse]) -> list[HostUse]:
    """The fewest of the largest hosts whose capacity covers the whole use (an estimate)."""
    memory = sum(h.memory_used for h in hosts)
    vcpus = sum(h.vcpus_used for h in hosts)
    chosen: list[HostUse] = []
    have_mem = have_cpu = 0.0
    for host in sorted(hosts, key=lambda h: (-h.memory_usable, -h.vcpus, h.empty, h.id)):
        if have_mem >= memory and have_cpu >= vcpus and (chosen or (memory == vcpus == 0)):
            break
        chosen.append(host)
        have_mem += host.memory_usable
        have_cpu += host.vcpus
    return chosen


def _pct(used: float, total: float) -> float:
    return round(100 * used / total, 1) if total else 0.0


class UnusedCapacity(BaseReport):
    """Idle capacity per host and cell at the window's end, priced with ``asset_cost``."""

    name = "unused-capacity"
    title = "Unused capacity"
    description = ("Hosts and cells whose facts (or the instances placed on them, where one "
                   "moved since the facts were gathered) show idle memory or vCPUs, and what "
                   "freeing hosts would save (asset_cost).")

    def compute(self, conn: Connection, window: Window, project_id: str | None, *,
                hidden_kinds: tuple[str, ...] = ()) -> ReportData:
        hosts, unmeasured = _load(conn, window.until, project_id)
        data = self.new(window, project_id)
        host_rows: list[list[Cell]] = [[
            h.id, h.name, h.cell, h.active, h.memory_usable, h.memory_used, h.memory_idle,
            h.vcpus, h.vcpus_used, h.vcpus_idle, h.instances, h.idle_share, h.empty,
            h.usage_source, h.asset_cost, h.idle_cost,
        ] for h in sorted(hosts, key=lambda h: (-(h.idle_cost or 0), -h.idle_share, h.id))]
        by_cell: dict[str, list[HostUse]] = defaultdict(list)
        for h in hosts:
            by_cell[h.cell].append(h)
        cell_rows: list[list[Cell]] = []
        saving_total = 0.0
        for cell, members in sorted(by_cell.items()):
            keep = {h.id for h in hosts_needed(members)}
            freeable = [h for h in members if h.id not in keep]
            saving = sum(h.asset_cost or 0.0 for h in freeable)
            saving_total += saving
            usable = sum(h.memory_usable for h in members)
            used = sum(h.memory_used for h in members)
            vcpus = sum(h.vcpus for h in members)
            vused = sum(h.vcpus_used for h in members)
            cell_rows.append([cell, len(members), usable, used, _pct(used, usable), vcpus,
                              vused, _pct(vused, vcpus), sum(h.empty for h in members),
                              len(keep), len(freeable), round(saving, 2)])
        empty = [h for h in hosts if h.empty]
        data.summary = {
            "hosts": len(hosts) + unmeasured,
            "hosts_without_capacity_facts": unmeasured,
            "empty_hosts": len(empty),
            "saving_from_empty_hosts": round(sum(h.asset_cost or 0.0 for h in empty), 2),
            "idle_memory_mb": sum(h.memory_idle for h in hosts),
            "idle_vcpus": sum(h.vcpus_idle for h in hosts),
            "idle_cost": round(sum(h.idle_cost or 0.0 for h in hosts), 2),
            "hosts_freeable_by_consolidation": sum(int(r[10] or 0) for r in cell_rows),
            "estimated_consolidation_saving": round(saving_total, 2),
            "as_of_position": window.until,
        }
        data.tables = [
            Table("hosts", "Hosts, most idle cost first",
                  ["host_id", "host", "cell", "active", "memory_usable_mb", "memory_used_mb",
                   "memory_idle_mb", "vcpus", "vcpus_used", "vcpus_idle", "instances",
                   "idle_share", "empty", "usage_source", "asset_cost", "idle_cost"], host_rows),
            Table("cells", "Cells", ["cell", "hosts", "memory_usable_mb", "memory_used_mb",
                                     "memory_use_pct", "vcpus", "vcpus_used", "vcpu_use_pct",
                                     "empty_hosts", "hosts_needed", "hosts_freeable",
                                     "estimated_saving"], cell_rows),
        ]
        data.charts = [
            Chart("Memory use per cell", [str(r[0]) for r in cell_rows],
                  [float(r[4] or 0) for r in cell_rows], "%"),
            Chart("vCPU use per cell", [str(r[0]) for r in cell_rows],
                  [float(r[7] or 0) for r in cell_rows], "%"),
        ]
        data.notes.append(
            "Use comes from the hosts' facts (memory_used_mb, vcpus_used) or, where those "
            "are missing, from the instances placed on them. hosts_needed is an estimate "
            "(the fewest largest hosts whose capacity covers the cell's use); a plan "
            "(POST /v1/plans) gives moves that respect placement rules.")
        return data
