"""Volume lower bounds on the asset cost of the hosts a plan must keep."""

from __future__ import annotations

import math
from collections import Counter

from craton.planning.cells import split_cells
from craton.planning.model import HostCapacity, PlanInput


def _cover_cost(pool: list[HostCapacity], need: float, resource: int) -> float:
    """Least cost of fractional hosts covering a demand on one resource."""
    if need <= 1e-9:
        return 0.0
    usable = [h for h in pool if h.capacity[resource] > 0]
    kinds = {(h.asset_cost, h.capacity[resource]) for h in usable}
    if len(kinds) == 1:
        cost, cap = next(iter(kinds))
        return cost * min(len(usable), math.ceil(need / cap - 1e-9))
    total = 0.0
    for h in sorted(usable, key=lambda h: h.asset_cost / h.capacity[resource]):
        take = min(1.0, need / h.capacity[resource])
        total += take * h.asset_cost
        need -= take * h.capacity[resource]
        if need <= 1e-9:
            break
    return total


def cell_lower_bound(cell: PlanInput) -> float:
    """Lower bound on the asset cost of hosts in use for one cell."""
    hosts = {h.id: h for h in cell.hosts}
    homes = {i.host_id for i in cell.instances}
    forced = {
        h.id for h in cell.hosts if h.pinned and not h.maintenance and h.id in homes
    }
    pool = [
        h for h in cell.hosts
        if not h.maintenance and not h.pinned and (h.receives or h.id in homes)
    ]
    free = [i for i in cell.instances if i.host_id not in forced]
    best = 0.0
    for r in range(3):
        best = max(best, _cover_cost(pool, sum(i.demand[r] for i in free), r))
    anti = {g.id for g in cell.groups if g.policy == "anti-affinity"}
    sizes: Counter[int] = Counter(g for i in free for g in i.group_ids if g in anti)
    costs = sorted(h.asset_cost for h in pool)
    for size in sizes.values():
        best = max(best, sum(costs[:size]))
    return sum(hosts[h].asset_cost for h in forced) + best


def host_lower_bound(inp: PlanInput) -> float:
    """Sum over cells of the per-resource volume bound on asset cost in use."""
    return sum(cell_lower_bound(cell) for cell in split_cells(inp))
