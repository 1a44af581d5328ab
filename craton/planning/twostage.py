"""Two-stage model for large cells: choose kept hosts, then assign displaced items."""

from __future__ import annotations

import time
from collections import defaultdict

from craton.planning.bound import cell_lower_bound
from craton.planning.cells import Item, fits, targets
from craton.planning.greedy import consolidate
from craton.planning.highs import INF, Milp
from craton.planning.model import PlanInput
from craton.planning.outcome import CellOutcome, fixed_items, item_move_cost
from craton.planning.packing import Packing
from craton.planning.result import relative_gap

MAX_ASSIGNMENT_COLUMNS = 40000


class KeepModel:
    """Stage 1: which hosts stay in use, from aggregate capacity per resource."""

    def __init__(self, cell: PlanInput, items: list[Item]) -> None:
        """Collect candidate hosts, their usable capacity and displacement cost."""
        self.cell, self.items = cell, items
        self.hosts = {h.id: h for h in cell.hosts}
        self.fixed, self.free = fixed_items(cell, items)
        homes: dict[int, list[int]] = defaultdict(list)
        for i in self.free:
            home = items[i].home
            if home is not None:
                homes[home].append(i)
        self.cand = sorted(
            {h.id for h in cell.hosts if h.receives}
            | {h for h in homes if not self.hosts[h].maintenance}
        )
        self.cap: dict[int, list[float]] = {}
        for h in self.cand:
            cap = list(self.hosts[h].capacity)
            if not self.hosts[h].receives:
                own = [sum(items[i].demand[r] for i in homes[h]) for r in range(3)]
                cap = [min(c, o) for c, o in zip(cap, own, strict=False)]
            self.cap[h] = cap
        self.displaced = {h: sum(item_move_cost(cell, items[i], None) for i in homes[h])
                          for h in self.cand}
        self.need = [sum(items[i].demand[r] for i in self.free) for r in range(3)]
        anti: dict[int, set[int]] = defaultdict(set)
        size: dict[int, int] = defaultdict(int)
        for i in self.free:
            if items[i].anti:
                usable = {h.id for h in targets(items[i], list(cell.hosts))
                          if fits(items[i].demand, h.capacity)}
            for g in items[i].anti:
                size[g] += 1
                anti[g] |= usable
        self.anti = [(size[g], sorted(anti[g] & set(self.cand))) for g in size]
        self.pinned_cost = sum(
            self.hosts[h].asset_cost for h in {items[i].home for i in self.fixed} if h is not None
        )

    def solve(self, extra: list[float], with_moves: bool, time_limit: float, gap: float
              ) -> tuple[list[int], float, str]:
        """Kept hosts, the dual bound on their cost, and the solver status."""
        m = Milp()
        weight = 1.0 if with_moves else 0.0
        y = {h: m.var(self.hosts[h].asset_cost - weight * self.displaced[h]) for h in self.cand}
        for r in range(3):
            m.row(list(y.values()), [self.cap[h][r] for h in y], lo=self.need[r] + extra[r])
        for size, usable in self.anti:
            m.row([y[h] for h in usable], [1.0] * len(usable), lo=float(size))
        sol = m.solve(time_limit, gap)
        if not sol.values:
            return [], sol.bound, sol.status
        kept = [h for h, col in y.items() if sol.values[col] > 0.5]
        return kept, sol.bound, sol.status


def _assign(pack: Packing, pending: list[int], kept: list[int], time_limit: float) -> bool:
    """Stage 2 as a MILP: displaced items into the residual capacity of kept hosts."""
    cols = [(i, h) for i in pending for h in kept if h in pack.allowed[i]]
    if not cols or len(cols) > MAX_ASSIGNMENT_COLUMNS:
        return False
    m = Milp()
    x = {key: m.var() for key in cols}
    by_item: dict[int, list[int]] = defaultdict(list)
    by_host: dict[int, list[int]] = defaultdict(list)
    for i, h in cols:
        by_item[i].append(x[i, h])
        by_host[h].append(i)
    for i in pending:
        m.row(by_item[i], [1.0] * len(by_item[i]), 1.0, 1.0)
    for h, its in by_host.items():
        room = [c - u for c, u in zip(pack.hosts[h].capacity, pack.load[h], strict=False)]
        for r in range(3):
            m.row([x[i, h] for i in its], [pack.items[i].demand[r] for i in its], hi=room[r])
        groups: dict[int, list[int]] = defaultdict(list)
        for i in its:
            for g in pack.items[i].anti:
                groups[g].append(x[i, h])
        for g, members in groups.items():
            m.row(members, [1.0] * len(members), hi=0.0 if pack.anti[h][g] else 1.0)
    sol = m.solve(time_limit, 1.0)
    if not sol.values:
        return False
    for (i, h), col in x.items():
        if sol.values[col] > 0.5:
            pack.put(i, h)
    return True


def _pack(cell: PlanInput, items: list[Item], kept: list[int], time_limit: float
          ) -> Packing | None:
    """Place items on kept hosts: homes first, then first-fit, then the assignment MILP."""
    hosts = [h for h in cell.hosts if h.id in set(kept) or h.pinned]
    pack = Packing(hosts, items)
    pending = sorted(pack.settle_homes(), key=lambda i: -items[i].size)
    order = sorted(kept, key=lambda h: -pack.fill(h))
    for idx in pending:
        if pack.first_fit(idx, order) is None:
            for done in pending:
                if done in pack.where:
                    pack.take(done)
            return pack if _assign(pack, pending, kept, time_limit) else None
    return pack


def solve_two_stage(
    cell: PlanInput, items: list[Item], greedy: dict[int, int] | None, time_limit: float
) -> CellOutcome:
    """Keep as few (cheap) hosts as the aggregate demand allows, then pack into them."""
    began = time.monotonic()
    model = KeepModel(cell, items)
    _, lp_bound, _ = model.solve([0.0, 0.0, 0.0], False, time_limit * 0.2, cell.mip_gap)
    bound = max(cell_lower_bound(cell), model.pinned_cost + (lp_bound if lp_bound < INF else 0))
    step = [sum(c[r] for c in model.cap.values()) / max(1, len(model.cap)) * 0.5
            for r in range(3)]
    notes: list[str] = []
    for k in range(40):
        left = time_limit - (time.monotonic() - began)
        if left <= 0.1:
            notes.append("two-stage model ran out of time; greedy layout kept")
            break
        extra = [k * s for s in step]
        kept, _, status = model.solve(extra, True, left * 0.3, cell.mip_gap)
        if not kept and status == "infeasible":
            break
        pack = _pack(cell, items, kept, max(0.1, (time_limit - (time.monotonic() - began)) * 0.3))
        if pack is not None:
            consolidate(pack)
            layout = pack.layout()
            cost = sum(model.hosts[h].asset_cost for h in set(layout.values()))
            done = relative_gap(cost, bound) <= cell.mip_gap
            return CellOutcome(layout, "optimal" if done else "feasible", bound, notes)
    return CellOutcome(greedy or {}, "time_limit" if notes else "feasible", bound, notes)
