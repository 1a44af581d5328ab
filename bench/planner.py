"""Decisioning: MILP and greedy consolidation plans on seeded fleets, against the lower bound."""

from __future__ import annotations

import os
from typing import Any

from bench.config import Sizes
from bench.stats import now
from craton.planning import (
    generate_fleet,
    host_lower_bound,
    plan_greedy,
    plan_milp,
    violations,
)
from craton.planning.result import host_cost

TARGET_HOSTS = 1_000
TARGET_GAP = 0.02
TARGET_SECONDS = 60.0


def one_fleet(hosts: int, time_limit: float, seed: int = 1) -> dict[str, Any]:
    inp = generate_fleet(hosts, instances_per_host=20, seed=seed, time_limit_s=time_limit)
    bound = host_lower_bound(inp)
    start = now()
    greedy = plan_greedy(inp)
    greedy_s = now() - start
    start = now()
    milp = plan_milp(inp)
    milp_s = now() - start
    milp_cost = host_cost(inp, milp.layout())
    greedy_cost = host_cost(inp, greedy.layout())
    gap = (milp_cost - bound) / bound if bound else 0.0
    row = {
        "hosts": hosts, "instances": len(inp.instances), "groups": len(inp.groups),
        "anti_affinity_groups": sum(g.policy == "anti-affinity" for g in inp.groups),
        "bound": bound, "milp_hosts": len(milp.hosts_used), "milp_cost": milp_cost,
        "greedy_hosts": len(greedy.hosts_used), "greedy_cost": greedy_cost, "gap": gap,
        "milp_moves": len(milp.moves), "greedy_moves": len(greedy.moves),
        "milp_s": milp_s, "greedy_s": greedy_s, "status": milp.status,
        "milp_violations": len(violations(inp, milp.layout())),
        "greedy_violations": len(violations(inp, greedy.layout())),
        "notes": milp.notes[:5],
    }
    row["met"] = (gap <= TARGET_GAP and milp_cost <= greedy_cost + 1e-9
                  and milp_s <= TARGET_SECONDS and row["milp_violations"] == 0)
    return row


def measure(sizes: Sizes, log: Any) -> dict[str, Any]:
    fleets = []
    for hosts in sizes.planner_hosts:
        log(f"planner: {hosts:,} hosts")
        row = one_fleet(hosts, sizes.planner_time_limit)
        log(f"  {row}")
        fleets.append(row)
    at_target = next((r for r in fleets if r["hosts"] == TARGET_HOSTS), None)
    notes = ["gap = (MILP asset cost of hosts in use - lower bound) / lower bound; "
             "cost is the asset cost of the hosts in use (their count beside it).",
             "met: gap ≤ 2%, MILP cost ≤ greedy cost, MILP wall time ≤ 60 s, and no "
             "hard-constraint violation (the independent checker)."]
    if at_target is not None:
        notes.append(f"At {TARGET_HOSTS:,} hosts the target is "
                     f"{'met' if at_target['met'] else 'MISSED'}.")
    return {"time_limit_s": sizes.planner_time_limit, "cores": os.cpu_count(),
            "fleets": fleets, "notes": notes,
            "met_at_1000": None if at_target is None else at_target["met"]}
