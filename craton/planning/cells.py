"""Split a fleet into cells and merge affinity groups into placement items."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace

from craton.planning.model import (
    HostCapacity,
    InstanceDemand,
    PlanInput,
    PlanningError,
    Vector,
)

EPS = 1e-6


def cell_label(cell_id: int | None) -> str:
    """Human name of a cell."""
    return "the hosts without a cell" if cell_id is None else f"cell {cell_id}"


def fits(demand: Vector, room: Vector) -> bool:
    """Whether a demand vector fits into the room left on a host."""
    return all(d <= r + EPS for d, r in zip(demand, room, strict=False))


@dataclass(frozen=True)
class Item:
    """Instances that must share a host (one instance or a whole affinity group)."""

    members: tuple[int, ...]
    demand: Vector
    home: int | None
    anti: frozenset[int]
    label: str

    @property
    def size(self) -> float:
        """Scalar used to order items, largest first."""
        return max(self.demand[0] / 16.0, self.demand[1] / 65536.0, self.demand[2] / 1000.0)


def host_cell(inp: PlanInput) -> dict[int, int | None]:
    """Map host id to cell id."""
    return {h.id: h.cell_id for h in inp.hosts}


def split_cells(inp: PlanInput) -> list[PlanInput]:
    """Split the input into one independent sub-input per cell."""
    cells = host_cell(inp)
    for inst in inp.instances:
        if inst.host_id not in cells:
            raise PlanningError(f"instance '{inst.name}' runs on unknown host {inst.host_id}")
    hosts: dict[int | None, list[HostCapacity]] = defaultdict(list)
    instances: dict[int | None, list[InstanceDemand]] = defaultdict(list)
    for h in inp.hosts:
        hosts[h.cell_id].append(h)
    for inst in inp.instances:
        instances[cells[inst.host_id]].append(inst)
    order = sorted(hosts, key=lambda c: (c is None, c if c is not None else 0))
    return [
        replace(inp, hosts=tuple(hosts[c]), instances=tuple(instances[c])) for c in order
    ]


def _find(parent: dict[int, int], x: int) -> int:
    """Union-find root with path halving."""
    while parent[x] != x:
        parent[x] = parent[parent[x]]
        x = parent[x]
    return x


def build_items(inp: PlanInput) -> list[Item]:
    """Merge hard affinity groups into single items, one item per other instance."""
    policy = {g.id: g.policy for g in inp.groups}
    names = {g.id: g.name for g in inp.groups}
    parent = {i.id: i.id for i in inp.instances}
    first: dict[int, int] = {}
    for inst in inp.instances:
        for gid in inst.group_ids:
            if policy.get(gid) != "affinity":
                continue
            if gid in first:
                a, b = _find(parent, first[gid]), _find(parent, inst.id)
                parent[b] = a
            else:
                first[gid] = inst.id
    members: dict[int, list[InstanceDemand]] = defaultdict(list)
    for inst in inp.instances:
        members[_find(parent, inst.id)].append(inst)
    items = []
    for group in members.values():
        demand = (
            sum(i.vcpus for i in group),
            sum(i.memory_mb for i in group),
            sum(i.disk_gb for i in group),
        )
        homes = {i.host_id for i in group}
        anti = frozenset(
            g for i in group for g in i.group_ids if policy.get(g) == "anti-affinity"
        )
        aff = sorted({g for i in group for g in i.group_ids if policy.get(g) == "affinity"})
        if len(group) > 1:
            label = "affinity group " + ", ".join(f"'{names[g]}'" for g in aff)
        else:
            label = f"instance '{group[0].name}'"
        items.append(
            Item(
                members=tuple(i.id for i in group),
                demand=demand,
                home=next(iter(homes)) if len(homes) == 1 else None,
                anti=anti,
                label=label,
            )
        )
    return items


def targets(item: Item, hosts: list[HostCapacity]) -> list[HostCapacity]:
    """Hosts an item may end up on, ignoring load: its home or any receiving host."""
    home = next((h for h in hosts if h.id == item.home), None)
    if home is not None and home.pinned:
        return [home]
    return [h for h in hosts if h.receives or (h.id == item.home and not h.maintenance)]
