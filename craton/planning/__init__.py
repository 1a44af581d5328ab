"""Consolidation planning: decide which hosts to keep and which instances to move.

Planners are plain callables ``plan(input: PlanInput) -> PlanResult``. Intended
entry points (group ``craton.planners``)::

    [project.entry-points."craton.planners"]
    greedy = "craton.planning.greedy:plan"
    milp = "craton.planning.milp:plan"
"""

from __future__ import annotations

from craton.planning.bound import cell_lower_bound, host_lower_bound
from craton.planning.checks import soft_breaches, violations
from craton.planning.fleetgen import generate_fleet
from craton.planning.greedy import plan_greedy
from craton.planning.milp import plan_milp
from craton.planning.model import (
    HostCapacity,
    InfeasiblePlan,
    InstanceDemand,
    InstanceGroup,
    Move,
    Objective,
    PlanInput,
    PlanningError,
    PlanResult,
)

__all__ = [
    "HostCapacity",
    "InfeasiblePlan",
    "InstanceDemand",
    "InstanceGroup",
    "Move",
    "Objective",
    "PlanInput",
    "PlanResult",
    "PlanningError",
    "cell_lower_bound",
    "generate_fleet",
    "host_lower_bound",
    "plan_greedy",
    "plan_milp",
    "soft_breaches",
    "violations",
]
