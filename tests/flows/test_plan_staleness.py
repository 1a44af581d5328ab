"""A plan is stale when anything changes on the hosts it moves instances to or from."""

from __future__ import annotations

from typing import Any

import pytest

from craton.bootstrap import Services
from craton.domain.errors import Conflict
from craton.planning.service import compute_plan, execute_plan

from .conftest import Fleet


@pytest.fixture
def fleet(services: Services) -> Fleet:
    """The demo fleet on an SQLite file and on PostgreSQL."""
    return Fleet(services)


def target_of(plan: dict[str, Any]) -> int:
    return int(plan["fields"]["moves"][0]["to_host_id"])


def bystander(fleet: Fleet, host_id: int, moved: set[int]) -> Any:
    """An instance on the host that the plan does not move."""
    return next(i for i in fleet.instances_on([host_id]) if i.id not in moved)


def refusal(fleet: Fleet, plan_id: int) -> str:
    with pytest.raises(Conflict) as refused:
        execute_plan(fleet.svc, fleet.meta, plan_id)
    return str(refused.value)


def test_a_new_instance_on_a_target_host_makes_the_plan_stale(fleet: Fleet) -> None:
    plan = compute_plan(fleet.svc, fleet.meta, planner_name="greedy")
    created = fleet.svc.ledger.register(fleet.meta, "instance", {
        "name": "big", "host_id": target_of(plan), "memory_mb": 200000})
    said = refusal(fleet, plan["id"])
    assert "is stale" in said and f"Instance.Registered of {created['id']}" in said


def test_a_resized_instance_on_a_target_host_makes_the_plan_stale(fleet: Fleet) -> None:
    plan = compute_plan(fleet.svc, fleet.meta, planner_name="greedy")
    moved = {m["instance_id"] for m in plan["fields"]["moves"]}
    resized = bystander(fleet, target_of(plan), moved)
    fleet.svc.ledger.update(fleet.meta, "instance", resized.id, {"memory_mb": 200000})
    assert f"of {resized.id} at @" in refusal(fleet, plan["id"])


def test_an_instance_placed_on_a_target_host_makes_the_plan_stale(fleet: Fleet) -> None:
    plan = compute_plan(fleet.svc, fleet.meta, planner_name="greedy")
    touched = {m["from_host_id"] for m in plan["fields"]["moves"]} | {
        m["to_host_id"] for m in plan["fields"]["moves"]} | {
        h["id"] for h in plan["fields"]["hosts_freed"]}
    elsewhere = next(i for h in fleet.hosts if h not in touched
                     for i in fleet.instances_on([h]))
    fleet.svc.ledger.place_instance(fleet.meta, elsewhere.id, target_of(plan))
    assert f"Instance.Placed of {elsewhere.id}" in refusal(fleet, plan["id"])


def test_changes_elsewhere_leave_the_plan_fresh(fleet: Fleet) -> None:
    plan = compute_plan(fleet.svc, fleet.meta, planner_name="greedy",
                        scope={"hosts": fleet.hosts[:3]})
    assert plan["fields"]["moves"]
    other = next(i for h in fleet.hosts[3:] for i in fleet.instances_on([h]))
    fleet.svc.ledger.set_variables(fleet.meta, "instance", other.id, {"owner": "x"})
    assert execute_plan(fleet.svc, fleet.meta, plan["id"])["state"] == "requested"


def cell_and_region_of(fleet: Fleet, host_id: int) -> tuple[int, int]:
    from craton.projections.listing import get_row

    with fleet.svc.db.reading() as conn:
        row = get_row(conn, "host", host_id, None, None)
    return int(row.cell_id), int(row.region_id)


@pytest.mark.parametrize("kind", ["cell", "region"])
def test_an_allocation_ratio_changed_above_a_target_host_makes_the_plan_stale(
        fleet: Fleet, kind: str) -> None:
    plan = compute_plan(fleet.svc, fleet.meta, planner_name="greedy")
    cell, region = cell_and_region_of(fleet, target_of(plan))
    fleet.svc.ledger.set_variables(fleet.meta, kind, cell if kind == "cell" else region,
                                   {"ram_allocation_ratio": 0.5})
    said = refusal(fleet, plan["id"])
    assert "is stale" in said
    assert f"ram_allocation_ratio of host {target_of(plan)} resolves to 0.5, not 1.0" in said


def test_another_variable_changed_above_the_hosts_leaves_the_plan_fresh(fleet: Fleet) -> None:
    plan = compute_plan(fleet.svc, fleet.meta, planner_name="greedy")
    cell, _ = cell_and_region_of(fleet, target_of(plan))
    fleet.svc.ledger.set_variables(fleet.meta, "cell", cell, {"owner": "ops"})
    assert execute_plan(fleet.svc, fleet.meta, plan["id"])["state"] == "requested"
