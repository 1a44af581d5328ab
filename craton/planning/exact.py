"""Exact monolithic model for small cells: minimise host cost, then moves."""

from __future__ import annotations

import itertools
import time
from collections import defaultdict

from craton.planning.bound import cell_lower_bound
from craton.planning.cells import Item, cell_label
from craton.planning.highs import INF, Milp
from craton.planning.model import InfeasiblePlan, PlanInput
from craton.planning.outcome import CellOutcome, fixed_items, item_move_cost, twin_key
from craton.planning.packing import Packing


class ExactModel:
    """Items x hosts assignment with host-use binaries, cover cuts and twin ordering."""

    def __init__(self, cell: PlanInput, items: list[Item]) -> None:
        """Build columns and rows for the free items of a cell."""
        self.cell, self.items = cell, items
        self.hosts = {h.id: h for h in cell.hosts}
        self.fixed, self.free = fixed_items(cell, items)
        allowed = Packing(list(cell.hosts), items).allowed
        self.allowed = {i: sorted(allowed[i]) for i in self.free}
        homes = {items[i].home for i in self.free}
        cand = sorted({h for i in self.free for h in self.allowed[i]})
        m = self.milp = Milp()
        self.y = {h: m.var() for h in cand}
        self.x = {(i, h): m.var() for i in self.free for h in self.allowed[i]}
        self.host_cost = [0.0] * len(m.cost)
        self.move_cost = [0.0] * len(m.cost)
        for h, col in self.y.items():
            self.host_cost[col] = self.hosts[h].asset_cost
        for (i, h), col in self.x.items():
            self.move_cost[col] = item_move_cost(cell, items[i], h)
        on: dict[int, list[int]] = defaultdict(list)
        for (i, h), col in self.x.items():
            on[h].append(i)
            m.row([col, self.y[h]], [1.0, -1.0], hi=0.0)
        for i in self.free:
            m.row([self.x[i, h] for h in self.allowed[i]], [1.0] * len(self.allowed[i]), 1.0, 1.0)
        for h, members in on.items():
            for r in range(3):
                m.row(
                    [self.x[i, h] for i in members] + [self.y[h]],
                    [items[i].demand[r] for i in members] + [-self.hosts[h].capacity[r]],
                    hi=0.0,
                )
            anti: dict[int, list[int]] = defaultdict(list)
            for i in members:
                for g in items[i].anti:
                    anti[g].append(self.x[i, h])
            for cols in anti.values():
                if len(cols) > 1:
                    m.row([*cols, self.y[h]], [1.0] * len(cols) + [-1.0], hi=0.0)
        for r in range(3):
            need = sum(items[i].demand[r] for i in self.free)
            cols = list(self.y.values())
            m.row(cols, [self.hosts[h].capacity[r] for h in self.y], lo=need)
        twins: dict[tuple[object, ...], list[int]] = defaultdict(list)
        for h in cand:
            if h not in homes:
                twins[twin_key(self.hosts[h])].append(h)
        self.twins = list(twins.values())
        for group in self.twins:
            for a, b in itertools.pairwise(group):
                m.row([self.y[a], self.y[b]], [1.0, -1.0], lo=0.0)
        self._soft()

    def _soft(self) -> None:
        """Penalty columns for soft-affinity and soft-anti-affinity groups."""
        policy = {g.id: g.policy for g in self.cell.groups}
        inst_groups = {i.id: i.group_ids for i in self.cell.instances}
        penalty = self.cell.objective.soft_penalty
        for gid, pol in policy.items():
            if pol not in ("soft-affinity", "soft-anti-affinity"):
                continue
            count = {
                i: sum(gid in inst_groups[m] for m in self.items[i].members) for i in self.free
            }
            count = {i: c for i, c in count.items() if c}
            hosts = sorted({h for i in count for h in self.allowed[i]})
            for h in hosts:
                here = [i for i in count if (i, h) in self.x]
                if pol == "soft-anti-affinity" and sum(count[i] for i in here) > 1:
                    z = self._aux(penalty, INF)
                    cols = [self.x[i, h] for i in here] + [z]
                    self.milp.row(cols, [float(count[i]) for i in here] + [-1.0], hi=1.0)
                elif pol == "soft-affinity" and len(count) > 1:
                    w = self._aux(penalty, 1.0)
                    for i in here:
                        self.milp.row([self.x[i, h], w], [1.0, -1.0], hi=0.0)

    def _aux(self, penalty: float, hi: float) -> int:
        """Add a continuous penalty column."""
        col = self.milp.var(0.0, 0.0, hi, binary=False)
        self.host_cost.append(0.0)
        self.move_cost.append(penalty)
        return col

    def start_from(self, layout: dict[int, int]) -> list[float] | None:
        """Full start vector from a layout, twins relabelled to respect the ordering."""
        where = {i: layout[self.items[i].members[0]] for i in self.free}
        for group in self.twins:
            used = [h for h in group if h in where.values()]
            relabel = dict(zip(used, group, strict=False))
            where = {i: relabel.get(h, h) for i, h in where.items()}
        if any((i, h) not in self.x for i, h in where.items()):
            return None
        values = [0.0] * len(self.milp.cost)
        for i, h in where.items():
            values[self.x[i, h]] = 1.0
            values[self.y[h]] = 1.0
        idx, val = self._aux_values(values)
        for k, v in zip(idx, val, strict=False):
            values[k] = v
        return values

    def _aux_values(self, values: list[float]) -> tuple[list[int], list[float]]:
        """Smallest penalty values that satisfy the soft rows."""
        aux = set(range(len(self.y) + len(self.x), len(values)))
        best: dict[int, float] = {k: 0.0 for k in aux}
        for idx, val, _lo, hi in self.milp.rows:
            if idx[-1] in aux:
                lhs = sum(v * values[c] for c, v in zip(idx[:-1], val[:-1], strict=False))
                best[idx[-1]] = max(best[idx[-1]], lhs - hi)
        return list(best), list(best.values())

    def decode(self, values: list[float]) -> dict[int, int]:
        """Layout of all instances from a solution vector."""
        layout = {}
        for (i, h), col in self.x.items():
            if values[col] > 0.5:
                layout.update({m: h for m in self.items[i].members})
        for i in self.fixed:
            home = self.items[i].home
            assert home is not None
            layout.update({m: home for m in self.items[i].members})
        return layout


def solve_exact(
    cell: PlanInput, items: list[Item], greedy: dict[int, int] | None, time_limit: float
) -> CellOutcome:
    """Lexicographic solve: least host cost first, then fewest moves at that cost."""
    began = time.monotonic()
    model = ExactModel(cell, items)
    m = model.milp
    m.cost = list(model.host_cost)
    start = model.start_from(greedy) if greedy is not None else None
    first = m.solve(time_limit * 0.7, cell.mip_gap, start)
    pinned = sum(model.hosts[h].asset_cost for h in {items[i].home for i in model.fixed}
                 if h is not None)
    bound = max(cell_lower_bound(cell), pinned + (first.bound if first.bound < INF else 0.0))
    if first.status == "infeasible":
        raise InfeasiblePlan(
            f"no layout of {cell_label(cell.hosts[0].cell_id)} meets capacity, affinity "
            "and anti-affinity together"
        )
    if first.status == "no_solution":
        fallback = greedy or {}
        return CellOutcome(fallback, "time_limit", bound, ["exact model found no layout in time"])
    m.row(list(model.y.values()), [model.host_cost[c] for c in model.y.values()],
          hi=first.objective + 1e-6)
    m.cost = list(model.move_cost)
    left = time_limit - (time.monotonic() - began)
    second = m.solve(left, cell.mip_gap, first.values)
    values = second.values if second.values else first.values
    status = "optimal"
    if "time_limit" in (first.status, second.status) or second.status == "no_solution":
        status = "time_limit"
    elif first.status != "optimal" or second.status != "optimal":
        status = "feasible"
    return CellOutcome(model.decode(values), status, bound)
