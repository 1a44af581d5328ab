"""Consolidation planners on hand-made fleets whose optimum is known."""

from __future__ import annotations

import pytest

from craton.planning import (
    HostCapacity,
    InfeasiblePlan,
    InstanceDemand,
    InstanceGroup,
    Move,
    PlanInput,
    PlanResult,
    plan_greedy,
    plan_milp,
    violations,
)

GB = 1024.0


def host(hid: int, cell: int | None = 1, **flags: object) -> HostCapacity:
    """A 16 vCPU, 64 GB, 1000 GB host."""
    return HostCapacity(hid, f"h{hid}", cell, 16, 64 * GB, 1000, **flags)  # type: ignore[arg-type]


def vm(iid: int, host_id: int, mem_gb: float = 16, groups: tuple[int, ...] = ()) -> InstanceDemand:
    """An instance with 2 vCPUs, mem_gb of memory and 20 GB of disk."""
    return InstanceDemand(iid, f"vm-{iid}", host_id, 2, mem_gb * GB, 20, groups)


def fleet(hosts: list[HostCapacity], vms: list[InstanceDemand], groups=()) -> PlanInput:
    """Plan input with a short time limit."""
    return PlanInput(tuple(hosts), tuple(vms), tuple(groups), time_limit_s=20)


def valid(inp: PlanInput, result: PlanResult) -> dict[int, int]:
    """Assert the plan breaks no hard constraint and return its layout."""
    layout = result.layout()
    assert violations(inp, layout) == []
    assert set(layout) == {i.id for i in inp.instances}
    return layout


PLANNERS = [plan_greedy, plan_milp]


@pytest.mark.parametrize("planner", PLANNERS)
def test_four_half_empty_hosts_fold_into_two(planner) -> None:
    inp = fleet([host(h) for h in (1, 2, 3, 4)],
                [vm(h * 10 + k, h, 16) for h in (1, 2, 3, 4) for k in (1, 2)])
    result = planner(inp)
    valid(inp, result)
    assert len(result.hosts_used) == 2
    assert len(result.moves) == 4
    assert len(result.hosts_freed) == 2
    assert result.freed_asset_cost == pytest.approx(2.0)


def test_milp_is_exact_with_fewest_moves() -> None:
    # Host 1 holds 48 GB, hosts 2-4 hold 16 GB each: 96 GB need 2 hosts;
    # the cheapest way in moves is to fill host 1 (one move) and keep one more.
    vms = [vm(1, 1, 16), vm(2, 1, 16), vm(3, 1, 16), vm(4, 2, 16), vm(5, 3, 16), vm(6, 4, 16)]
    inp = fleet([host(h) for h in (1, 2, 3, 4)], vms)
    result = plan_milp(inp)
    valid(inp, result)
    assert result.status == "optimal"
    assert len(result.hosts_used) == 2
    assert len(result.moves) == 2
    assert result.gap == pytest.approx(0.0)
    assert result.bound == pytest.approx(2.0)


def test_fewer_moves_among_equal_host_cost() -> None:
    # Emptying the least loaded host 3 costs three moves; moving vm-2 onto it costs one.
    vms = [vm(1, 1, 40), vm(2, 2, 40), vm(3, 3, 10), vm(4, 3, 10), vm(5, 3, 4)]
    inp = fleet([host(h) for h in (1, 2, 3)], vms)
    baseline = plan_greedy(inp)
    valid(inp, baseline)
    assert len(baseline.hosts_used) == 2 and len(baseline.moves) == 3
    result = plan_milp(inp)
    layout = valid(inp, result)
    assert len(result.hosts_used) == 2
    assert result.moves == [Move(2, 2, 3)]
    assert layout[3] == layout[4] == layout[5] == 3
    assert result.objective < baseline.objective


def test_asset_cost_decides_which_host_goes() -> None:
    hosts = [host(1, asset_cost=3.0), host(2), host(3)]
    inp = fleet(hosts, [vm(1, 1, 30), vm(2, 2, 30), vm(3, 3, 30)])
    result = plan_milp(inp)
    valid(inp, result)
    assert 1 in result.hosts_freed
    assert result.hosts_used == [2, 3]


@pytest.mark.parametrize("planner", PLANNERS)
def test_anti_affinity_larger_than_cell_names_group(planner) -> None:
    groups = [InstanceGroup(7, "db", "anti-affinity")]
    vms = [vm(k, 1 + k % 3, 4, (7,)) for k in range(4)]
    inp = fleet([host(h, cell=3) for h in (1, 2, 3)], vms, groups)
    with pytest.raises(InfeasiblePlan, match="anti-affinity group 'db' has 4 instances but "
                       "cell 3 has only 3 usable hosts"):
        planner(inp)


@pytest.mark.parametrize("planner", PLANNERS)
def test_instance_too_big_for_any_host(planner) -> None:
    inp = fleet([host(1, cell=2), host(2, cell=2)], [vm(7, 1, 80)])
    message = r"instance 'vm-7' \(80 GB\) fits on no host of cell 2"
    with pytest.raises(InfeasiblePlan, match=message):
        planner(inp)


@pytest.mark.parametrize("planner", PLANNERS)
def test_affinity_group_needing_more_than_a_host(planner) -> None:
    groups = [InstanceGroup(3, "web", "affinity")]
    vms = [vm(k, 1 + k % 2, 20, (3,)) for k in range(4)]
    inp = fleet([host(1), host(2), host(3)], vms, groups)
    with pytest.raises(InfeasiblePlan, match="affinity group 'web' needs 80 GB, more than any "
                       "single host in cell 1 offers"):
        planner(inp)


@pytest.mark.parametrize("planner", PLANNERS)
def test_affinity_group_kept_together(planner) -> None:
    groups = [InstanceGroup(1, "web", "affinity"), InstanceGroup(2, "db", "anti-affinity")]
    vms = [vm(1, 1, 16, (1,)), vm(2, 2, 16, (1,)), vm(3, 3, 8, (2,)), vm(4, 4, 8, (2,))]
    inp = fleet([host(h) for h in (1, 2, 3, 4)], vms, groups)
    result = planner(inp)
    layout = valid(inp, result)
    assert layout[1] == layout[2]
    assert layout[3] != layout[4]
    assert len(result.hosts_used) == 2


@pytest.mark.parametrize("planner", PLANNERS)
def test_pinned_and_maintenance_hosts(planner) -> None:
    hosts = [host(1, pinned=True), host(2, maintenance=True), host(3), host(4, schedulable=False)]
    vms = [vm(1, 1, 8), vm(2, 2, 8), vm(3, 2, 8), vm(4, 3, 8), vm(5, 4, 8)]
    inp = fleet(hosts, vms)
    result = planner(inp)
    layout = valid(inp, result)
    assert layout[1] == 1
    assert 2 not in layout.values()
    assert {layout[2], layout[3]} == {3}
    assert layout[5] == 4 or layout[5] == 3


@pytest.mark.parametrize("planner", PLANNERS)
def test_instances_never_leave_their_cell(planner) -> None:
    hosts = [host(1, cell=1), host(2, cell=1), host(3, cell=2), host(4, cell=2)]
    vms = [vm(1, 1, 8), vm(2, 2, 8), vm(3, 3, 8), vm(4, 4, 8)]
    inp = fleet(hosts, vms)
    result = planner(inp)
    layout = valid(inp, result)
    assert len(result.hosts_used) == 2
    assert layout[1] in (1, 2) and layout[3] in (3, 4)


def test_ratios_raise_capacity() -> None:
    hosts = [host(1, ram_ratio=1.5), host(2)]
    inp = fleet(hosts, [vm(1, 1, 60), vm(2, 2, 30)])
    result = plan_milp(inp)
    valid(inp, result)
    assert result.hosts_used == [1]


def test_checker_catches_broken_layouts() -> None:
    groups = [InstanceGroup(1, "web", "affinity"), InstanceGroup(2, "db", "anti-affinity")]
    hosts = [host(1), host(2, cell=2), host(3, pinned=True), host(4, maintenance=True), host(5)]
    vms = [vm(1, 1, 48, (1,)), vm(2, 1, 8, (1,)), vm(3, 5, 8, (2,)), vm(4, 5, 8),
           vm(5, 3, 8), vm(6, 4, 8, (2,))]
    inp = fleet(hosts, vms, groups)
    broken = {1: 5, 2: 1, 3: 2, 4: 3, 5: 5, 6: 4}
    found = "\n".join(violations(inp, broken))
    assert "affinity group 'web' is split" in found
    assert "left its cell" in found
    assert "moved onto pinned host" in found
    assert "left pinned host" in found
    assert "maintenance host" in found
    crowded = {1: 1, 2: 1, 3: 1, 4: 5, 5: 3, 6: 1}
    found = "\n".join(violations(inp, crowded))
    assert "over capacity" in found
    assert "anti-affinity group 'db' shares host 1" in found
    assert violations(inp, {}) != []
