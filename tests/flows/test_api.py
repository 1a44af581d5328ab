"""The workflow routes: request (202), show, list and cancel runs; nothing runs in a request."""

from __future__ import annotations

import falcon.testing
import pytest

from craton.api import create_app
from craton.api.auth import create_root
from craton.flows import service
from craton.flows.worker import Worker
from tests.api.conftest import Caller, build_fleet, ok, user_caller


@pytest.fixture
def client(memory_services):
    return falcon.testing.TestClient(create_app(memory_services))


@pytest.fixture
def member(memory_services, client):
    root = Caller(client, {"Authorization": f"Bearer {create_root(memory_services)}"})
    fleet = build_fleet(root)
    return user_caller(root, fleet["pid"], "member", "mia"), fleet


def test_a_member_requests_a_run_and_a_worker_executes_it(memory_services, member):
    caller, fleet = member
    assert {w["name"] for w in ok(caller.get("/v1/workflows"))["workflows"]} >= {"audit"}
    result = caller.post("/v1/workflow-runs", json={
        "workflow": "audit", "parameters": {"hosts": [fleet["host"]["id"]]}},
        headers={"X-Craton-Reason": "INC-42"})
    run = ok(result, 202)
    assert run["state"] == "requested" and result.headers["Location"].endswith(str(run["id"]))
    Worker(memory_services).run_once()
    shown = ok(caller.get(f"/v1/workflow-runs/{run['id']}"))
    assert shown["state"] == "succeeded" and shown["steps"][0]["state"] == "SUCCESS"
    assert ok(caller.get("/v1/workflow-runs"))["workflow-runs"][0]["id"] == run["id"]
    trail = service.run_events(memory_services, run["uuid"])
    assert {e["reason"] for e in trail} == {"INC-42"}


def test_bad_requests_and_cancellation(member):
    caller, fleet = member
    bad = caller.post("/v1/workflow-runs", json={
        "workflow": "evacuate", "parameters": {"batch_size": "ten"}})
    assert bad.status_code == 400 and "batch_size" in bad.json["errors"]
    assert caller.post("/v1/workflow-runs", json={"workflow": "nope"}).status_code == 400
    assert caller.get("/v1/workflow-runs/999999").status_code == 404
    huge = "9" * 20
    assert caller.get(f"/v1/workflow-runs/{huge}").status_code == 404
    assert caller.post(f"/v1/workflow-runs/{huge}/cancel").status_code == 404
    assert "marker" in ok(caller.get(f"/v1/workflow-runs?marker={huge}"), 400)["errors"]
    beyond = caller.post("/v1/workflow-runs", json={
        "workflow": "audit", "parameters": {"hosts": [int(huge)]}})
    assert beyond.status_code == 400 and "hosts.0" in beyond.json["errors"]
    run = ok(caller.post("/v1/workflow-runs", json={
        "workflow": "evacuate", "parameters": {"hosts": [fleet["host"]["id"]]}}), 202)
    cancelled = ok(caller.post(f"/v1/workflow-runs/{run['id']}/cancel"), 202)
    assert cancelled["state"] == "cancelled"
    assert caller.post(f"/v1/workflow-runs/{run['id']}/cancel").status_code == 409
