"""Planners on generated fleets: validity, quality against greedy, bounds and deadlines."""

from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from craton.planning import (
    HostCapacity,
    InfeasiblePlan,
    InstanceDemand,
    InstanceGroup,
    Objective,
    PlanInput,
    generate_fleet,
    host_lower_bound,
    plan_greedy,
    plan_milp,
    soft_breaches,
    violations,
)
from craton.planning.result import host_cost


def test_generator_is_seeded_and_valid() -> None:
    a, b = generate_fleet(60, seed=4), generate_fleet(60, seed=4)
    assert a == b
    assert generate_fleet(60, seed=5) != a
    assert len(a.instances) > 1000
    found = violations(a, a.current_layout())
    assert found and all("maintenance host" in v for v in found)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_milp_never_worse_than_greedy(seed: int) -> None:
    inp = generate_fleet(30, instances_per_host=8, cells=2, seed=seed, time_limit_s=15)
    greedy, milp = plan_greedy(inp), plan_milp(inp)
    for result in (greedy, milp):
        assert violations(inp, result.layout()) == []
        assert result.bound <= host_cost(inp, result.layout()) + 1e-6
    assert milp.objective <= greedy.objective + 1e-9
    assert host_cost(inp, milp.layout()) <= host_cost(inp, greedy.layout()) + 1e-9
    assert milp.bound == pytest.approx(host_lower_bound(inp)) or milp.bound >= host_lower_bound(inp)


def test_large_cells_use_the_two_stage_model() -> None:
    inp = generate_fleet(120, cells=1, seed=3, time_limit_s=20)
    greedy, milp = plan_greedy(inp), plan_milp(inp)
    assert violations(inp, milp.layout()) == []
    assert host_cost(inp, milp.layout()) <= host_cost(inp, greedy.layout())
    assert milp.gap < 0.05
    assert milp.status in ("optimal", "feasible")


def test_time_limit_is_honoured() -> None:
    inp = generate_fleet(400, cells=2, seed=1, time_limit_s=0.5)
    began = time.monotonic()
    result = plan_milp(inp)
    elapsed = time.monotonic() - began
    assert elapsed < 30  # a hang guard, not a speed target: an unbounded solve takes minutes
    assert violations(inp, result.layout()) == []
    assert result.status == "time_limit"


def test_soft_anti_affinity_breaks_ties_between_equal_host_costs() -> None:
    hosts = tuple(HostCapacity(h, f"h{h}", 1, 16, 65536, 1000) for h in (1, 2, 3, 4))
    vms = tuple(
        InstanceDemand(k, f"vm-{k}", k, 2, 24576, 20, (1,) if k <= 2 else ())
        for k in (1, 2, 3, 4)
    )
    group = InstanceGroup(1, "spread", "soft-anti-affinity")
    for penalty, breaches in ((5.0, 0), (0.0, None)):
        inp = PlanInput(hosts, vms, (group,), Objective(soft_penalty=penalty), time_limit_s=10)
        result = plan_milp(inp)
        assert len(result.hosts_used) == 2 and len(result.moves) == 2
        if breaches is not None:
            assert soft_breaches(inp, result.layout()) == breaches


@st.composite
def small_fleets(draw: st.DrawFn) -> PlanInput:
    """Up to six hosts in up to two cells, with flags, groups and a valid start."""
    n_hosts = draw(st.integers(2, 6))
    hosts = []
    for h in range(1, n_hosts + 1):
        flag = draw(st.sampled_from(["", "", "", "pinned", "maintenance", "unschedulable"]))
        hosts.append(HostCapacity(
            h, f"h{h}", draw(st.sampled_from([1, 2])), 8, 32768, 500,
            cpu_ratio=draw(st.sampled_from([1.0, 2.0])),
            asset_cost=draw(st.sampled_from([1.0, 1.0, 1.5])),
            pinned=flag == "pinned", maintenance=flag == "maintenance",
            schedulable=flag != "unschedulable",
        ))
    load = {h.id: [0.0, 0.0, 0.0] for h in hosts}
    vms: list[InstanceDemand] = []
    for k in range(draw(st.integers(0, 14))):
        demand = (draw(st.sampled_from([1.0, 2.0, 4.0])),
                  draw(st.sampled_from([2048.0, 4096.0, 8192.0])), 40.0)
        h = hosts[draw(st.integers(0, n_hosts - 1))]
        if all(u + d <= c for u, d, c in zip(load[h.id], demand, h.capacity, strict=True)):
            load[h.id] = [u + d for u, d in zip(load[h.id], demand, strict=True)]
            vms.append(InstanceDemand(k, f"vm-{k}", h.id, *demand))
    groups = [InstanceGroup(1, "spread", "anti-affinity"), InstanceGroup(2, "pair", "affinity")]
    seen: set[int] = set()
    tagged = []
    for inst in vms:
        group: tuple[int, ...] = ()
        if inst.host_id not in seen and draw(st.booleans()):
            group, _ = (1,), seen.add(inst.host_id)
        elif inst.host_id == vms[0].host_id and draw(st.booleans()):
            group = (2,)
        tagged.append(InstanceDemand(inst.id, inst.name, inst.host_id, inst.vcpus,
                                     inst.memory_mb, inst.disk_gb, group))
    return PlanInput(tuple(hosts), tuple(tagged), tuple(groups), time_limit_s=10)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_fleets())
def test_plans_of_random_small_fleets_are_valid(inp: PlanInput) -> None:
    try:
        greedy = plan_greedy(inp)
    except InfeasiblePlan as exc:
        assert str(exc)
        greedy = None
    try:
        milp = plan_milp(inp, processes=0)
    except InfeasiblePlan as exc:
        assert str(exc)
        return
    assert violations(inp, milp.layout()) == []
    assert host_cost(inp, milp.layout()) >= milp.bound - 1e-6
    if greedy is not None:
        assert violations(inp, greedy.layout()) == []
        assert milp.objective <= greedy.objective + 1e-9
