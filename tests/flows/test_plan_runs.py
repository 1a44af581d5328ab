"""A plan's run, however it is requested: refused when stale or started, and the plan's
state follows the run from computed to executing to how it ended."""

from __future__ import annotations

from typing import Any

import pytest

from craton.bootstrap import Services
from craton.domain.errors import Conflict, InvalidInput
from craton.flows import service
from craton.flows.worker import Worker
from craton.planning.execution import settle_plan
from craton.planning.service import execute_plan
from craton.projections import listing

from .conftest import Fleet, plan_of


@pytest.fixture
def fleet(services: Services) -> Fleet:
    """The demo fleet on an SQLite file and on PostgreSQL."""
    return Fleet(services)


def plan_row(fleet: Fleet, plan_id: int) -> dict[str, Any]:
    with fleet.svc.db.reading() as conn:
        row = listing.get_row(conn, "plan", plan_id, None, None)
    assert row is not None
    return dict(row.data)


def request(fleet: Fleet, plan_id: int, **parameters: Any) -> dict[str, Any]:
    """A run of the plan requested as ``POST /v1/workflow-runs`` requests it."""
    return fleet.request("execute-plan", plan_id=plan_id, **parameters)


def runs(fleet: Fleet) -> list[dict[str, Any]]:
    return service.list_runs(fleet.svc, fleet.project)[0]


def test_a_stale_plan_is_refused_however_its_run_is_requested(fleet: Fleet) -> None:
    plan = plan_of(fleet)
    moved = plan["fields"]["moves"][0]["instance_id"]
    fleet.svc.ledger.set_variables(fleet.meta, "instance", moved, {"owner": "x"})
    with pytest.raises(Conflict) as direct:
        execute_plan(fleet.svc, fleet.meta, plan["id"])
    with pytest.raises(Conflict) as generic:
        request(fleet, plan["id"])
    assert str(generic.value) == str(direct.value)
    assert "is stale" in str(generic.value) and "Instance.VariablesSet" in str(generic.value)
    assert runs(fleet) == []
    assert plan_row(fleet, plan["id"])["state"] == "computed"


def test_a_plan_whose_run_is_requested_is_not_run_again(fleet: Fleet) -> None:
    plan = plan_of(fleet)
    first = request(fleet, plan["id"])
    with pytest.raises(Conflict, match="already executing"):
        request(fleet, plan["id"])
    with pytest.raises(Conflict, match="already executing"):
        execute_plan(fleet.svc, fleet.meta, plan["id"])
    assert [r["uuid"] for r in runs(fleet)] == [first["uuid"]]


def test_a_plan_being_executed_is_not_run_again(fleet: Fleet) -> None:
    plan = plan_of(fleet)
    execute_plan(fleet.svc, fleet.meta, plan["id"])
    with pytest.raises(Conflict, match="already executing"):
        request(fleet, plan["id"])
    assert len(runs(fleet)) == 1


def test_a_plan_run_through_the_runs_api_ends_executed(fleet: Fleet) -> None:
    plan = plan_of(fleet)
    run = request(fleet, plan["id"])
    assert Worker(fleet.svc).run_once() == run["uuid"]
    assert service.get_run(fleet.svc, run["id"], fleet.project)["state"] == "succeeded"
    assert plan_row(fleet, plan["id"]) | {"state": "executed", "run_id": run["uuid"]} \
        == plan_row(fleet, plan["id"])
    with pytest.raises(Conflict, match="already executed"):
        request(fleet, plan["id"])


def test_a_plan_executed_through_its_endpoint_ends_executed(fleet: Fleet) -> None:
    plan = plan_of(fleet)
    run = execute_plan(fleet.svc, fleet.meta, plan["id"])
    assert plan_row(fleet, plan["id"])["state"] == "executing"
    assert Worker(fleet.svc).run_once() == run["uuid"]
    assert plan_row(fleet, plan["id"])["state"] == "executed"


def test_a_plan_whose_moves_are_handed_over_ends_partially_executed(fleet: Fleet) -> None:
    plan = plan_of(fleet)
    stuck = plan["fields"]["moves"][0]["instance"]
    run = request(fleet, plan["id"], max_retries=0,
                  driver_config={"always_failing_migrations": [stuck]})
    assert Worker(fleet.svc).run_once() == run["uuid"]
    done = service.get_run(fleet.svc, run["id"], fleet.project)
    assert [h["instance_id"] for h in done["handovers"]] == [
        plan["fields"]["moves"][0]["instance_id"]]
    expected = "partially-executed" if len(plan["fields"]["moves"]) > 1 else "failed"
    assert plan_row(fleet, plan["id"])["state"] == expected


def test_a_run_that_stops_part_way_leaves_its_plan_partially_executed(fleet: Fleet) -> None:
    plan = plan_of(fleet)
    moves = plan["fields"]["moves"]
    assert len(moves) > 1
    run = execute_plan(fleet.svc, fleet.meta, plan["id"])
    fleet.svc.ledger.place_instance(fleet.meta, moves[0]["instance_id"], moves[0]["to_host_id"])
    with fleet.svc.db.writing() as session:
        conn = session.connection()
        assert settle_plan(fleet.svc.ledger, conn, fleet.meta, plan["id"], "another") is None
        assert settle_plan(fleet.svc.ledger, conn, fleet.meta, plan["id"],
                           run["uuid"]) == "partially-executed"
    assert plan_row(fleet, plan["id"])["state"] == "partially-executed"


def test_a_plan_is_executing_from_the_moment_its_run_is_requested(fleet: Fleet) -> None:
    plan = plan_of(fleet)
    run = request(fleet, plan["id"])
    assert plan_row(fleet, plan["id"]) | {"state": "executing", "run_id": run["uuid"]} \
        == plan_row(fleet, plan["id"])


def test_a_plan_whose_run_is_cancelled_before_a_worker_takes_it_is_released(
        fleet: Fleet) -> None:
    plan = plan_of(fleet)
    run = execute_plan(fleet.svc, fleet.meta, plan["id"])
    assert service.cancel_run(fleet.svc, fleet.meta, run["id"])["state"] == "cancelled"
    assert plan_row(fleet, plan["id"]) | {"state": "failed", "run_id": run["uuid"]} \
        == plan_row(fleet, plan["id"])  # nothing moved
    assert Worker(fleet.svc).run_once() is None
    assert plan_row(fleet, plan["id"])["state"] == "failed"


def test_a_plan_that_goes_stale_while_its_run_waits_is_not_carried_out(fleet: Fleet) -> None:
    first, second = plan_of(fleet), plan_of(fleet)
    assert first["fields"]["moves"] == second["fields"]["moves"]
    runs_ = [execute_plan(fleet.svc, fleet.meta, p["id"]) for p in (first, second)]
    worker = Worker(fleet.svc)
    assert worker.run_once() == runs_[0]["uuid"]
    assert plan_row(fleet, first["id"])["state"] == "executed"
    placed = {i.id: i.host_id for i in fleet.instances_on(fleet.hosts)}
    assert worker.run_once() == runs_[1]["uuid"]
    done = service.get_run(fleet.svc, runs_[1]["id"], None)
    assert done["state"] == "failed" and "is stale" in done["error"]
    assert [s["name"] for s in done["steps"]] == ["plan.start"]
    assert plan_row(fleet, second["id"])["state"] == "failed"
    assert {i.id: i.host_id for i in fleet.instances_on(fleet.hosts)} == placed
    freed = [h["id"] for h in first["fields"]["hosts_freed"]]
    assert freed and fleet.instances_on(freed) == []


def test_a_plan_run_naming_a_driver_not_installed_leaves_the_plan_computed(
        fleet: Fleet) -> None:
    plan = plan_of(fleet)
    with pytest.raises(InvalidInput) as refused:
        request(fleet, plan["id"], driver="bogus")
    assert list(refused.value.errors or {}) == ["driver"]
    assert runs(fleet) == []
    assert plan_row(fleet, plan["id"])["state"] == "computed"
