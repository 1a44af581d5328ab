"""Plans computed from the ledger's capacity, recorded as events, checked before execution."""

from __future__ import annotations

import pytest

from craton.bootstrap import Services
from craton.domain.errors import InvalidInput
from craton.planning.capacity import read_capacity
from craton.planning.execution import stale_changes
from craton.planning.service import PlanInfeasible, compute_plan
from craton.projections import audit, timeline
from tests.conftest import make_fleet

FACTS = {"memory_total_mb": 65536, "memory_reserved_mb": 0, "vcpus": 16, "disk_gb": 1000}


def fleet_of_half_empty_hosts(svc: Services) -> dict[str, object]:
    """Four equal hosts, each a quarter full: two of them can be freed."""
    f = make_fleet(svc)
    led, meta = svc.ledger, f["meta"]
    hosts = [f["host"]] + [led.register(meta, "host", {
        "name": f"host-{n}", "region_id": f["region"]["id"], "cell_id": f["cell"]["id"]})
        for n in (2, 3, 4)]
    for n, host in enumerate(hosts):
        led.record_facts(meta, "host", host["id"], FACTS)
        led.register(meta, "instance", {"name": f"vm-{n}", "host_id": host["id"],
                                        "vcpus": 4, "memory_mb": 16384, "disk_gb": 10})
    led.set_variables(meta, "cell", f["cell"]["id"], {"asset_cost": 10})
    f["hosts"] = hosts
    return f


@pytest.mark.parametrize("planner", ["greedy", "milp"])
def test_plan_frees_hosts_and_is_recorded(memory_services: Services, planner: str) -> None:
    f = fleet_of_half_empty_hosts(memory_services)
    plan = compute_plan(memory_services, f["meta"], planner_name=planner,
                        scope={"cell_id": f["cell"]["id"]}, time_limit_s=10)
    fields = plan["fields"]
    assert len(fields["hosts_freed"]) == 3
    assert fields["freed_asset_cost"] == 30
    assert len(fields["moves"]) == 3
    with memory_services.db.reading() as conn:
        events, _ = audit.events(conn, audit.EventQuery(resource_type="plan"))
    assert [e.event_type for e in events] == ["Plan.Registered"]


def test_capacity_is_read_at_the_plan_position(memory_services: Services) -> None:
    f = fleet_of_half_empty_hosts(memory_services)
    with memory_services.db.reading() as conn:
        position = timeline.head(conn)
    memory_services.ledger.record_facts(f["meta"], "host", f["host"]["id"],
                                        {"memory_total_mb": 1})
    with memory_services.db.reading() as conn:
        then = read_capacity(conn, f["meta"].project_id, {}, position)
    assert {h.memory_mb for h in then.hosts} == {65536}
    assert all(h.asset_cost == 10 for h in then.hosts)


def test_a_plan_touching_changed_instances_is_stale(memory_services: Services) -> None:
    f = fleet_of_half_empty_hosts(memory_services)
    plan = compute_plan(memory_services, f["meta"], planner_name="greedy",
                        scope={"cell_id": f["cell"]["id"]})
    fields = dict(plan["fields"])
    with memory_services.db.reading() as conn:
        assert stale_changes(conn, fields) == []
    moved = fields["moves"][0]
    memory_services.ledger.set_variables(f["meta"], "instance", moved["instance_id"],
                                         {"owner": "x"})
    with memory_services.db.reading() as conn:
        changed = stale_changes(conn, fields)
    assert len(changed) == 1 and "Instance.VariablesSet" in changed[0]


def test_impossible_anti_affinity_names_the_group(memory_services: Services) -> None:
    f = make_fleet(memory_services)
    led, meta = memory_services.ledger, f["meta"]
    led.record_facts(meta, "host", f["host"]["id"], FACTS)
    group = led.register(meta, "instance-group", {"name": "db", "policy": "anti-affinity"})
    for n in range(2):
        led.register(meta, "instance", {"name": f"db-{n}", "host_id": f["host"]["id"],
                                        "group_ids": [group["id"]]})
    with pytest.raises(PlanInfeasible, match="db"):
        compute_plan(memory_services, meta, planner_name="milp", time_limit_s=5)


def test_unknown_planner_and_scope_are_refused(memory_services: Services) -> None:
    f = make_fleet(memory_services)
    with pytest.raises(InvalidInput):
        compute_plan(memory_services, f["meta"], planner_name="magic")
    with pytest.raises(InvalidInput):
        compute_plan(memory_services, f["meta"], scope={"galaxy": 1})


@pytest.mark.parametrize("limit", [True, 0, -1.0, float("nan"), 10**9])
def test_a_time_limit_that_is_not_a_number_of_seconds_is_refused(
        memory_services: Services, limit: object) -> None:
    f = make_fleet(memory_services)
    with pytest.raises(InvalidInput) as caught:
        compute_plan(memory_services, f["meta"], planner_name="greedy", time_limit_s=limit)
    assert set(caught.value.errors) == {"time_limit_s"}
