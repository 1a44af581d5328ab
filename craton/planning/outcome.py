"""What a cell solver hands back to the planner, and helpers shared by solvers."""

from __future__ import annotations

from dataclasses import dataclass, field

from craton.planning.cells import Item
from craton.planning.model import HostCapacity, InstanceDemand, PlanInput

STATUS_RANK = {"optimal": 0, "feasible": 1, "time_limit": 2, "infeasible": 3}


@dataclass
class CellOutcome:
    """Layout of one cell with its status and host-cost lower bound."""

    layout: dict[int, int]
    status: str
    bound: float
    notes: list[str] = field(default_factory=list)


def worst(statuses: list[str]) -> str:
    """The least favourable of several statuses."""
    return max(statuses, key=lambda s: STATUS_RANK[s]) if statuses else "optimal"


def fixed_items(cell: PlanInput, items: list[Item]) -> tuple[list[int], list[int]]:
    """Split item indexes into those pinned at home and those free to plan."""
    pinned = {h.id for h in cell.hosts if h.pinned}
    fixed = [i for i, it in enumerate(items) if it.home in pinned]
    free = [i for i, it in enumerate(items) if it.home not in pinned]
    return fixed, free


def item_move_cost(cell: PlanInput, item: Item, host_id: int | None) -> float:
    """Weighted cost of moving an item's instances to a host (None: anywhere else)."""
    inst = cell_instances(cell)
    return sum(
        cell.objective.move_cost(inst[m]) for m in item.members if inst[m].host_id != host_id
    )


_INDEX: dict[int, tuple[PlanInput, dict[int, InstanceDemand]]] = {}


def cell_instances(cell: PlanInput) -> dict[int, InstanceDemand]:
    """Instances of a cell by id, memoised per input object."""
    hit = _INDEX.get(id(cell))
    if hit is None or hit[0] is not cell:
        hit = (cell, {i.id: i for i in cell.instances})
        _INDEX.clear()
        _INDEX[id(cell)] = hit
    return hit[1]


def twin_key(host: HostCapacity) -> tuple[object, ...]:
    """Hosts with equal keys are interchangeable when both start empty."""
    return (host.capacity, host.asset_cost, host.receives)
