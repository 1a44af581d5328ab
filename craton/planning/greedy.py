"""First-fit-decreasing consolidation baseline that keeps every hard constraint."""

from __future__ import annotations

import time

from craton.planning.bound import host_lower_bound
from craton.planning.cells import Item, build_items, cell_label, split_cells
from craton.planning.diagnose import diagnose_cell, diagnose_fleet
from craton.planning.model import InfeasiblePlan, PlanInput, PlanResult
from craton.planning.packing import Packing
from craton.planning.result import make_result


def _empty_key(pack: Packing, hid: int) -> tuple[float, float, int]:
    """Emptying order: dearest hosts first, then the least loaded."""
    return (-pack.hosts[hid].asset_cost, pack.fill(hid), hid)


def place_pending(pack: Packing, pending: list[int], cell: str) -> None:
    """Place displaced items: open hosts first, then the cheapest empty ones."""
    for idx in sorted(pending, key=lambda i: -pack.items[i].size):
        used = [h for h in pack.hosts if pack.content[h]]
        used.sort(key=lambda h: _empty_key(pack, h), reverse=True)
        spare = [h for h in pack.hosts if not pack.content[h]]
        spare.sort(key=lambda h: (pack.hosts[h].asset_cost, -pack.hosts[h].memory_mb, h))
        if pack.first_fit(idx, used + spare) is None:
            raise InfeasiblePlan(
                f"{pack.items[idx].label} finds no room in {cell}: every host that could "
                "take it is full or holds a member of one of its anti-affinity groups"
            )


def consolidate(pack: Packing) -> None:
    """Try to empty hosts one by one into the hosts that stay in use."""
    order = [h for h in pack.hosts if pack.content[h] and not pack.hosts[h].pinned]
    order.sort(key=lambda h: _empty_key(pack, h))
    closed: set[int] = set()
    for hid in order:
        if not pack.content[hid]:
            continue
        dest = [h for h in pack.hosts if pack.content[h] and h != hid and h not in closed]
        dest.sort(key=lambda h: _empty_key(pack, h), reverse=True)
        moved: list[int] = []
        for idx in sorted(pack.content[hid], key=lambda i: -pack.items[i].size):
            pack.take(idx)
            if pack.first_fit(idx, dest) is None:
                pack.put(idx, hid)
                for back in moved:
                    pack.take(back)
                    pack.put(back, hid)
                break
            moved.append(idx)
        else:
            closed.add(hid)


def greedy_cell(cell: PlanInput, items: list[Item] | None = None) -> dict[int, int]:
    """Greedy layout (instance id -> host id) of one cell."""
    items = build_items(cell) if items is None else items
    diagnose_cell(cell, items)
    if not cell.hosts:
        return {}
    pack = Packing(list(cell.hosts), items)
    pending = pack.settle_homes()
    place_pending(pack, pending, cell_label(cell.hosts[0].cell_id))
    consolidate(pack)
    return pack.layout()


def plan_greedy(inp: PlanInput) -> PlanResult:
    """Consolidate the fleet cell by cell with first-fit-decreasing."""
    start = time.monotonic()
    diagnose_fleet(inp)
    layout: dict[int, int] = {}
    for cell in split_cells(inp):
        layout.update(greedy_cell(cell))
    return make_result(
        inp,
        layout,
        status="feasible",
        bound=host_lower_bound(inp),
        solve_time_s=time.monotonic() - start,
        planner="greedy",
        notes=["soft policies are scored but not pursued by the greedy planner"],
    )


def plan(inp: PlanInput) -> PlanResult:
    """Planner entry point: greedy first-fit-decreasing."""
    return plan_greedy(inp)
