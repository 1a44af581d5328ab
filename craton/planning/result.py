"""Turn a final layout into a PlanResult with moves, freed hosts and figures."""

from __future__ import annotations

from collections.abc import Mapping

from craton.planning.checks import soft_breaches
from craton.planning.model import Move, PlanInput, PlanResult


def host_cost(inp: PlanInput, layout: Mapping[int, int]) -> float:
    """Asset cost of the hosts that hold at least one instance."""
    used = set(layout.values())
    return sum(h.asset_cost for h in inp.hosts if h.id in used)


def objective_value(inp: PlanInput, layout: Mapping[int, int]) -> float:
    """Full objective: weighted host cost, move cost and soft-policy penalty."""
    obj = inp.objective
    moves = sum(
        obj.move_cost(i) for i in inp.instances if layout.get(i.id, i.host_id) != i.host_id
    )
    soft = obj.soft_penalty * soft_breaches(inp, layout)
    return obj.host_weight * host_cost(inp, layout) + moves + soft


def relative_gap(value: float, bound: float) -> float:
    """Relative gap of the host-cost part against its lower bound."""
    if value <= 1e-9:
        return 0.0
    return max(0.0, (value - bound) / value)


def make_result(
    inp: PlanInput,
    layout: Mapping[int, int],
    *,
    status: str,
    bound: float,
    solve_time_s: float,
    planner: str,
    notes: list[str] | None = None,
) -> PlanResult:
    """Build the result of a plan from the final layout."""
    current = inp.current_layout()
    moves = [
        Move(i.id, i.host_id, layout[i.id])
        for i in inp.instances
        if layout[i.id] != i.host_id
    ]
    used = set(layout.values())
    before = set(current.values())
    freed = sorted(before - used)
    costs = {h.id: h.asset_cost for h in inp.hosts}
    host_part = inp.objective.host_weight * host_cost(inp, layout)
    weighted_bound = inp.objective.host_weight * bound
    return PlanResult(
        status=status,
        moves=moves,
        hosts_used=sorted(used),
        hosts_freed=freed,
        freed_asset_cost=sum(costs[h] for h in freed),
        objective=objective_value(inp, layout),
        bound=weighted_bound,
        gap=relative_gap(host_part, weighted_bound),
        solve_time_s=solve_time_s,
        planner=planner,
        notes=list(notes or []),
        current=current,
    )
