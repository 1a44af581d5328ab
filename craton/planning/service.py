"""Plans as the API and CLI see them: compute and record, check, execute."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from stevedore import DriverManager
from stevedore.exception import NoMatches

import craton.domain.plans  # noqa: F401  (registers the Plan aggregate)
from craton.batches import pieces
from craton.bootstrap import Services
from craton.domain.errors import Conflict, DomainError, InvalidInput, NotFound
from craton.domain.meta import Meta
from craton.planning.capacity import read_capacity
from craton.planning.model import InfeasiblePlan, Objective, PlanInput, PlanResult
from craton.planning.request import check_request
from craton.projections.listing import get_row
from craton.projections.tables import LIVE
from craton.projections.timeline import head

NAMESPACE = "craton.planners"
MAX_TIME_LIMIT_S = 120.0


class PlanInfeasible(DomainError):
    """No layout satisfies the hard constraints; the message names the one in the way."""

    status = 422


def planner(name: str) -> Any:
    try:
        return DriverManager(namespace=NAMESPACE, name=name).driver
    except (NoMatches, RuntimeError):
        raise InvalidInput(f"no planner named {name!r}",
                           {"planner": ["unknown planner"]}) from None


def _objective(weights: dict[str, Any]) -> Objective:
    allowed = {"host_weight", "move_weight", "moves_by", "soft_penalty"}
    unknown = set(weights) - allowed
    if unknown:
        raise InvalidInput(f"unknown objective keys: {', '.join(sorted(unknown))}",
                           {"objective": [f"allowed: {', '.join(sorted(allowed))}"]})
    if weights.get("moves_by", "count") not in ("count", "memory"):
        raise InvalidInput("moves_by is 'count' or 'memory'", {"objective": ["moves_by"]})
    return Objective(**weights)


def compute_plan(svc: Services, meta: Meta, **request: Any) -> dict[str, Any]:
    """Read capacity at the head position, solve, and record the plan as events."""
    return svc.ledger.register(meta, "plan", solve_plan(svc, meta, **request))


def solve_plan(svc: Services, meta: Meta, *, planner_name: str = "milp",
               scope: dict[str, Any] | None = None, objective: dict[str, Any] | None = None,
               constraints: dict[str, Any] | None = None,
               time_limit_s: float = 30.0) -> dict[str, Any]:
    """A plan's fields, solved outside any write transaction (solving takes a while)."""
    plan_fn = planner(planner_name)
    if not 0 < time_limit_s <= MAX_TIME_LIMIT_S:
        raise InvalidInput(f"time_limit_s must be in (0, {MAX_TIME_LIMIT_S:g}]",
                           {"time_limit_s": ["out of range"]})
    scope, objective, constraints = scope or {}, objective or {}, constraints or {}
    check_request(scope, objective, constraints)
    with svc.db.reading() as conn:
        position = head(conn)
        capacity = read_capacity(conn, meta.project_id, scope, position, constraints)
    if not capacity.hosts:
        raise InvalidInput("the scope holds no hosts", {"scope": ["no hosts"]})
    plan_input = PlanInput(
        hosts=tuple(capacity.hosts), instances=tuple(capacity.instances),
        groups=tuple(capacity.groups), objective=_objective(objective),
        time_limit_s=time_limit_s, mip_gap=float(constraints.get("mip_gap", 0.01)))
    try:
        result: PlanResult = plan_fn(plan_input)
    except InfeasiblePlan as exc:
        raise PlanInfeasible(str(exc)) from None
    names = {h.id: h for h in capacity.hosts}
    instances = {i.id: i.name for i in capacity.instances}
    return {
        "name": f"{planner_name} plan at @{position}", "planner": planner_name,
        "scope": scope, "objective": objective, "constraints": constraints,
        "position": position,
        "moves": [{"instance_id": m.instance_id, "instance": instances.get(m.instance_id),
                   "from_host_id": m.from_host_id, "to_host_id": m.to_host_id}
                  for m in result.moves],
        "hosts_freed": [{"id": h, "name": names[h].name, "asset_cost": names[h].asset_cost}
                        for h in result.hosts_freed],
        "freed_asset_cost": result.freed_asset_cost, "objective_value": result.objective,
        "bound": result.bound, "gap": result.gap, "status": result.status,
        "solve_time_s": round(result.solve_time_s, 3), "state": "computed",
        "summary": {"hosts": len(capacity.hosts), "hosts_used": len(result.hosts_used),
                    "instances": len(capacity.instances), "moves": len(result.moves),
                    "notes": result.notes},
    }


def changes_since(svc: Services, plan: dict[str, Any]) -> list[str]:
    """What changed, since the plan's position, in the instances and hosts it touches."""
    touched = {m["instance_id"] for m in plan["moves"]}
    touched |= {m["from_host_id"] for m in plan["moves"]} | {m["to_host_id"]
                                                             for m in plan["moves"]}
    e = LIVE.events
    out = []
    with svc.db.reading() as conn:
        ids = sorted(touched)
        for chunk in pieces(ids):
            rows = conn.execute(select(e.c.position, e.c.event_type, e.c.resource_id)
                                .where(e.c.resource_id.in_(chunk),
                                       e.c.position > plan["position"])
                                .order_by(e.c.position))
            out += [f"{r.event_type} of {r.resource_id} at @{r.position}" for r in rows]
    return out


def execute_plan(svc: Services, meta: Meta, plan_id: int) -> dict[str, Any]:
    """Refuse a stale plan (409, saying what changed); otherwise start its run."""
    from craton.flows.service import request_run

    with svc.db.writing():
        with svc.db.reading() as conn:
            row = get_row(conn, "plan", plan_id, meta.project_id, None)
        if row is None:
            raise NotFound(f"no plan with id {plan_id}")
        plan = dict(row.data)
        if plan.get("state") != "computed":
            raise Conflict(f"plan {plan_id} is already {plan.get('state')}")
        changed = changes_since(svc, plan)
        if changed:
            raise Conflict(f"plan {plan_id} is stale: {len(changed)} changes since "
                           f"@{plan['position']}: " + "; ".join(changed[:10]))
        run = request_run(svc, meta, "execute-plan", {"plan_id": plan_id})
        svc.ledger.update(meta, "plan", plan_id, {"state": "executing",
                                                  "run_id": str(run["uuid"])})
        return dict(run)
