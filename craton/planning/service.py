"""Plans as the API and CLI see them: compute and record, check, execute."""

from __future__ import annotations

import math
from typing import Any

from stevedore import DriverManager
from stevedore.exception import NoMatches

from craton.bootstrap import Services
from craton.domain.errors import DomainError, InvalidInput, NotFound
from craton.domain.meta import Meta
from craton.domain.plans import COMPUTED, EXECUTING
from craton.planning.capacity import read_capacity
from craton.planning.model import InfeasiblePlan, Objective, PlanInput, PlanResult
from craton.planning.request import (
    Problems,
    host_problems,
    merge,
    refuse,
    request_problems,
)
from craton.projections.listing import get_row
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


def _planner_of(name: str, time_limit_s: float) -> tuple[Any, Problems]:
    """The planner named (None if there is none) and what is wrong with its name and
    time limit, checked with the rest of the request."""
    found: Problems = {}
    plan_fn = None
    try:
        plan_fn = planner(name)
    except InvalidInput as exc:
        found.update(exc.errors or {})
    if isinstance(time_limit_s, bool) or not (
            isinstance(time_limit_s, int | float) and math.isfinite(time_limit_s)
            and 0 < time_limit_s <= MAX_TIME_LIMIT_S):
        found["time_limit_s"] = [f"time_limit_s must be in (0, {MAX_TIME_LIMIT_S:g}]"]
    return plan_fn, found


def compute_plan(svc: Services, meta: Meta, **request: Any) -> dict[str, Any]:
    """Read capacity at the head position, solve, and record the plan as events."""
    return svc.ledger.register(meta, "plan", solve_plan(svc, meta, **request))


def solve_plan(svc: Services, meta: Meta, *, planner_name: str = "milp",
               scope: dict[str, Any] | None = None, objective: dict[str, Any] | None = None,
               constraints: dict[str, Any] | None = None,
               time_limit_s: float = 30.0) -> dict[str, Any]:
    """A plan's fields, solved outside any write transaction (solving takes a while).

    Every problem of the request is found before one is reported: its shape,
    then the hosts it names, read at the position the plan is computed at.
    """
    scope, objective, constraints = scope or {}, objective or {}, constraints or {}
    plan_fn, wrong = _planner_of(planner_name, time_limit_s)
    problems = merge(wrong, request_problems(scope, objective, constraints))
    with svc.db.reading() as conn:
        position = head(conn)
        refuse(merge(problems, host_problems(conn, meta.project_id, scope, constraints,
                                             position)))
        capacity = read_capacity(conn, meta.project_id, scope, position, constraints)
    if not capacity.hosts:
        raise InvalidInput("the scope holds no hosts", {"scope": ["no hosts"]})
    plan_input = PlanInput(
        hosts=tuple(capacity.hosts), instances=tuple(capacity.instances),
        groups=tuple(capacity.groups), objective=Objective(**objective),
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
        "solve_time_s": round(result.solve_time_s, 3), "state": COMPUTED,
        "summary": {"hosts": len(capacity.hosts), "hosts_used": len(result.hosts_used),
                    "instances": len(capacity.instances), "moves": len(result.moves),
                    "notes": result.notes},
    }


def execute_plan(svc: Services, meta: Meta, plan_id: int) -> dict[str, Any]:
    """Start the plan's run, which marks the plan executing, in one write transaction.

    The run's targets refuse a stale or already started plan (409, saying
    why), the same refusal a run requested through the workflow-runs API gets.
    """
    from craton.flows.service import request_run

    with svc.db.writing():
        with svc.db.reading() as conn:
            row = get_row(conn, "plan", plan_id, meta.project_id, None)
        if row is None:
            raise NotFound(f"no plan with id {plan_id}")
        return dict(request_run(svc, meta, "execute-plan", {"plan_id": plan_id}))


def mark_executing(svc: Services, meta: Meta, plan_id: int, run_uuid: str) -> None:
    """Record that the run ``run_uuid`` carries the plan out."""
    svc.ledger.update(meta, "plan", plan_id, {"state": EXECUTING, "run_id": run_uuid})
