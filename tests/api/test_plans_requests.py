"""Plan requests over HTTP: every problem refused at once (400, nothing recorded), and a
plan's run refused alike (409) whether asked for as the plan's or as a workflow run."""

from __future__ import annotations

import json
from typing import Any

import pytest

from craton.bootstrap import Services

from .conftest import Caller, ok
from .test_plans import half_empty


@pytest.fixture
def svc(services: Services) -> Services:
    """The API over an SQLite file and over PostgreSQL."""
    return services


def refused(member: Caller, text: str) -> dict[str, Any]:
    """Post a plan request as raw JSON (NaN and 1e400 included); expect a 400."""
    answer = member.post("/v1/plans", body=text, headers={"Content-Type": "application/json"})
    errors: dict[str, Any] = ok(answer, 400)["errors"]
    assert ok(member.get("/v1/plans"))["plans"] == []
    return errors


def test_unknown_keys_are_refused_each_named(fleet: dict[str, Any], member: Caller) -> None:
    host = fleet["host"]["id"]
    errors = refused(member, json.dumps({
        "scope": {"host": [host]}, "objective": {"hosts_weight": 1},
        "constraints": {"pinned_host": [host]}}))
    assert [e.split(" (")[0] for e in errors["scope"]] == ["unknown key 'host'"]
    assert [e.split(" (")[0] for e in errors["objective"]] == ["unknown key 'hosts_weight'"]
    assert [e.split(" (")[0] for e in errors["constraints"]] == ["unknown key 'pinned_host'"]


def test_hosts_that_are_not_the_projects_are_named(svc: Services, fleet: dict[str, Any],
                                                   member: Caller, root: Caller) -> None:
    other = ok(root.post("/v1/projects", json={"name": "other"}), 201)["id"]
    elsewhere = root.in_project(other)
    cloud = ok(elsewhere.post("/v1/clouds", json={"name": "c"}), 201)["id"]
    region = ok(elsewhere.post("/v1/regions", json={"name": "r", "cloud_id": cloud}), 201)
    theirs = ok(elsewhere.post("/v1/hosts", json={"name": "h", "region_id": region["id"]}),
                201)["id"]
    host, cell = fleet["host"]["id"], fleet["cell"]["id"]
    errors = refused(member, json.dumps({
        "scope": {"hosts": [host, 99999]},
        "constraints": {"maintenance_hosts": [99999, theirs], "pinned_hosts": [cell]}}))
    assert theirs < 99999
    assert errors == {
        "scope": ["hosts: no host with id 99999 in the project"],
        "constraints": [f"pinned_hosts: no host with id {cell} in the project",
                        f"maintenance_hosts: no host with id {theirs}, 99999 in the project"]}


def test_numbers_must_be_finite_and_in_range(fleet: dict[str, Any], member: Caller) -> None:
    errors = refused(member, '{"objective": {"host_weight": NaN, "move_weight": -5, '
                             '"soft_penalty": Infinity}, "constraints": {"mip_gap": 1e400}}')
    assert errors == {
        "objective": ["host_weight must be a finite number", "move_weight must be at least 0",
                      "soft_penalty must be a finite number"],
        "constraints": ["mip_gap must be a finite number"]}
    errors = refused(member, '{"objective": {"host_weight": 1e7, "moves_by": "size"}, '
                             '"constraints": {"mip_gap": 1.5}}')
    assert errors == {
        "objective": ["host_weight must be at most 1e+06", "moves_by must be 'count' or 'memory'"],
        "constraints": ["mip_gap must be at most 1"]}


def test_sensible_numbers_are_accepted(svc: Services, fleet: dict[str, Any],
                                       member: Caller) -> None:
    half_empty(svc, fleet, member)
    plan = ok(member.post("/v1/plans", json={
        "objective": {"host_weight": 0, "move_weight": 2.5, "moves_by": "memory"},
        "constraints": {"mip_gap": 1, "pinned_hosts": [fleet["host"]["id"]]}}), 201)
    assert plan["objective_value"] is not None


def test_a_stale_plan_is_refused_alike_through_the_runs_api(
        svc: Services, fleet: dict[str, Any], member: Caller) -> None:
    vms = half_empty(svc, fleet, member)
    plan = ok(member.post("/v1/plans", json={"planner": "greedy"}), 201)
    ok(member.put(f"/v1/instances/{vms[0]}/variables", json={"variables": {"x": 1}}))
    direct = member.post(f"/v1/plans/{plan['id']}/execute")
    generic = member.post("/v1/workflow-runs", json={
        "workflow": "execute-plan", "parameters": {"plan_id": plan["id"]}})
    assert (direct.status_code, generic.status_code) == (409, 409)
    assert generic.json["message"] == direct.json["message"]
    assert "is stale" in generic.json["message"]
    assert ok(member.get("/v1/workflow-runs"))["workflow-runs"] == []


def test_a_plan_run_requested_as_a_workflow_run_is_not_requested_twice(
        svc: Services, fleet: dict[str, Any], member: Caller) -> None:
    half_empty(svc, fleet, member)
    plan = ok(member.post("/v1/plans", json={"planner": "greedy"}), 201)
    asked = {"workflow": "execute-plan", "parameters": {"plan_id": plan["id"]}}
    ok(member.post("/v1/workflow-runs", json=asked), 202)
    assert member.post("/v1/workflow-runs", json=asked).status_code == 409
    assert member.post(f"/v1/plans/{plan['id']}/execute").status_code == 409
