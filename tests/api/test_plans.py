"""Plans over HTTP: computed, recorded, listed, refused when infeasible or stale."""

from __future__ import annotations

from typing import Any

from craton.bootstrap import Services
from craton.domain.meta import Meta

from .conftest import Caller, ok

FACTS = {"memory_total_mb": 65536, "memory_reserved_mb": 0, "vcpus": 16, "disk_gb": 1000}


def half_empty(svc: Services, fleet: dict[str, Any], member: Caller) -> list[int]:
    """Two hosts, each with one small instance: one host can be freed."""
    region, cell = fleet["region"]["id"], fleet["cell"]["id"]
    second = ok(member.post("/v1/hosts", json={"name": "h2", "region_id": region,
                                               "cell_id": cell}), 201)
    hosts = [fleet["host"]["id"], second["id"]]
    who = Meta(actor_id=None, actor_name="audit", source="flow", project_id=fleet["pid"])
    vms = []
    for n, host in enumerate(hosts):
        svc.ledger.record_facts(who, "host", host, FACTS)
        vms.append(ok(member.post("/v1/instances", json={
            "name": f"vm{n}", "host_id": host, "vcpus": 2, "memory_mb": 4096}), 201)["id"])
    return vms


def test_a_plan_is_computed_recorded_and_listed(svc: Services, fleet: dict[str, Any],
                                                member: Caller) -> None:
    half_empty(svc, fleet, member)
    created = member.post("/v1/plans", json={"planner": "milp", "time_limit_s": 10,
                                              "scope": {"cell_id": fleet["cell"]["id"]}})
    plan = ok(created, 201)
    assert created.headers["Location"] == f"/v1/plans/{plan['id']}"
    assert len(plan["moves"]) == 1 and len(plan["hosts_freed"]) == 1
    assert {"objective_value", "bound", "gap", "status", "solve_time_s"} <= set(plan)
    assert ok(member.get(f"/v1/plans/{plan['id']}"))["moves"] == plan["moves"]
    assert [p["id"] for p in ok(member.get("/v1/plans"))["plans"]] == [plan["id"]]
    events = ok(member.get("/v1/events?resource_type=plan"))["events"]
    assert [e["event_type"] for e in events] == ["Plan.Registered"]


def test_a_stale_plan_is_refused_and_says_what_changed(svc: Services, fleet: dict[str, Any],
                                                       member: Caller) -> None:
    vms = half_empty(svc, fleet, member)
    plan = ok(member.post("/v1/plans", json={"planner": "greedy"}), 201)
    moved = plan["moves"][0]["instance_id"]
    assert moved in vms
    ok(member.put(f"/v1/instances/{moved}/variables", json={"variables": {"x": 1}}))
    refused = member.post(f"/v1/plans/{plan['id']}/execute")
    assert refused.status_code == 409
    assert "Instance.VariablesSet" in refused.json["message"]


def test_executing_a_fresh_plan_requests_its_run(svc: Services, fleet: dict[str, Any],
                                                 member: Caller) -> None:
    half_empty(svc, fleet, member)
    plan = ok(member.post("/v1/plans", json={"planner": "greedy"}), 201)
    started = member.post(f"/v1/plans/{plan['id']}/execute")
    run = ok(started, 202)
    assert started.headers["Location"] == f"/v1/workflow-runs/{run['id']}"
    assert run["workflow"] == "execute-plan" and run["state"] == "requested"
    assert run["targets"]["plan_id"] == plan["id"] and run["handovers"] == []
    assert ok(member.get(f"/v1/plans/{plan['id']}"))["state"] == "executing"


def test_bad_plan_requests_are_4xx(fleet: dict[str, Any], member: Caller) -> None:
    assert member.post("/v1/plans", json={"planner": "magic"}).status_code == 400
    assert member.post("/v1/plans", json={"time_limit_s": 100000}).status_code == 400
    assert member.post("/v1/plans", json={"scope": {"galaxy": 1}}).status_code == 400
    wrong = member.post("/v1/plans", json={
        "scope": {"cell_id": 10**20, "hosts": "all"}, "objective": {"host_weight": "x"},
        "constraints": {"mip_gap": "x", "pinned_hosts": 5}})
    assert ok(wrong, 400)["errors"] == {
        "scope": ["cell_id must be an id", "hosts must be a list of ids"],
        "objective": ["host_weight must be a number"],
        "constraints": ["pinned_hosts must be a list of ids",
                        "mip_gap must be a number of at least 0"]}
    assert member.get("/v1/plans/999999").status_code == 404


def test_unknown_query_parameters_and_body_properties_are_refused(
        svc: Services, fleet: dict[str, Any], member: Caller) -> None:
    half_empty(svc, fleet, member)
    plan = ok(member.post("/v1/plans", json={"planner": "greedy"}), 201)
    unknown = {"bogus": ["unknown parameter"]}
    assert ok(member.get(f"/v1/plans/{plan['id']}?bogus=1"), 400)["errors"] == unknown
    assert ok(member.post("/v1/plans?bogus=1", json={"planner": "greedy"}),
              400)["errors"] == unknown
    execute = f"/v1/plans/{plan['id']}/execute"
    assert ok(member.post(f"{execute}?bogus=1"), 400)["errors"] == unknown
    refused = ok(member.post(execute, json={"batch_size": 5, "driver": "bogus"}), 400)
    assert sorted(refused["errors"]) == ["batch_size", "driver"]
    assert [p["id"] for p in ok(member.get("/v1/plans"))["plans"]] == [plan["id"]]
    assert ok(member.get(f"/v1/plans/{plan['id']}"))["state"] == "computed"
    assert ok(member.get("/v1/workflow-runs"))["workflow-runs"] == []


def test_a_plan_as_of_an_earlier_position_is_shown_as_it_was(
        svc: Services, fleet: dict[str, Any], member: Caller) -> None:
    half_empty(svc, fleet, member)
    plan = ok(member.post("/v1/plans", json={"planner": "greedy"}), 201)
    ok(member.post(f"/v1/plans/{plan['id']}/execute"), 202)
    assert ok(member.get(f"/v1/plans/{plan['id']}"))["state"] == "executing"
    then = member.get(f"/v1/plans/{plan['id']}?as_of=@{plan['id']}")
    assert ok(then)["state"] == "computed" and then.headers["ETag"] == '"1"'
    assert then.headers["X-Craton-Position"] == str(plan["id"])
    assert member.get(f"/v1/plans/{plan['id']}?as_of=@{plan['id'] - 1}").status_code == 404


def test_a_listing_leaves_each_plans_moves_to_its_item_unless_asked(
        svc: Services, fleet: dict[str, Any], member: Caller) -> None:
    half_empty(svc, fleet, member)
    plan = ok(member.post("/v1/plans", json={"planner": "greedy"}), 201)
    assert plan["moves"]
    (listed,) = ok(member.get("/v1/plans"))["plans"]
    assert "moves" not in listed and "hosts_freed" not in listed
    assert listed["summary"]["moves"] == len(plan["moves"])
    (detailed,) = ok(member.get("/v1/plans", params={"details": "true"}))["plans"]
    assert detailed["moves"] == plan["moves"]
    assert ok(member.get(f"/v1/plans/{plan['id']}"))["moves"] == plan["moves"]
