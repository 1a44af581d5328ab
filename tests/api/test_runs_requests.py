"""Requesting runs over HTTP: driver settings judged at once, and Idempotency-Key honoured."""

from __future__ import annotations

from typing import Any

import falcon.testing
import pytest

from craton.api import create_app
from craton.api.auth import create_root
from craton.flows import service
from craton.flows.worker import Worker
from tests.api.conftest import Caller, build_fleet, ok, user_caller


@pytest.fixture
def fleet(services: Any) -> dict[str, Any]:
    client = falcon.testing.TestClient(create_app(services))
    root = Caller(client, {"Authorization": f"Bearer {create_root(services)}"})
    out = build_fleet(root)
    out["member"] = user_caller(root, out["pid"], "member", "mia")
    return out


def _runs(fleet: dict[str, Any]) -> list[dict[str, Any]]:
    return list(ok(fleet["member"].get("/v1/workflow-runs"))["workflow-runs"])


def _evacuate(fleet: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"workflow": "evacuate",
            "parameters": {"hosts": [fleet["host"]["id"]], **extra}}


@pytest.mark.parametrize("config, expected", [
    ({"bogus": 1}, "bogus"),
    ({"failure_rates": {"live_migrate": 5}}, "between 0 and 1"),
])
def test_bad_simulator_settings_are_refused_when_the_run_is_requested(fleet, config, expected):
    result = fleet["member"].post("/v1/workflow-runs",
                                  json=_evacuate(fleet, driver_config=config))
    body = ok(result, 400)
    assert any(expected in p for p in body["errors"]["driver_config"])
    assert _runs(fleet) == []


def test_every_bad_setting_and_parameter_is_listed_together(fleet):
    body = ok(fleet["member"].post("/v1/workflow-runs", json=_evacuate(
        fleet, batch_size=0, driver_config={"bogus": 1, "failure_rates": {"x": 0.5},
                                            "bandwidth_mb_s": -1})), 400)
    assert "batch_size" in body["errors"]
    problems = " ".join(body["errors"]["driver_config"])
    assert "bogus" in problems and "'x'" in problems and "bandwidth_mb_s" in problems
    assert _runs(fleet) == []


def test_a_driver_not_installed_is_refused_when_the_run_is_requested(fleet):
    body = ok(fleet["member"].post("/v1/workflow-runs", json=_evacuate(
        fleet, driver="elsewhere", driver_config={"bogus": 1})), 400)
    assert body["errors"] == {
        "driver": ["no fleet driver named 'elsewhere' is installed (installed: simulator)"]}
    assert _runs(fleet) == []


def test_good_simulator_settings_are_accepted(fleet):
    ok(fleet["member"].post("/v1/workflow-runs", json=_evacuate(
        fleet, driver_config={"seed": 3, "failure_rates": {"live_migrate": 0.5}})), 202)


def test_a_retry_with_the_same_key_answers_with_the_first_run(fleet, services):
    key = {"Idempotency-Key": "k1"}
    first = fleet["member"].post("/v1/workflow-runs", json=_evacuate(fleet), headers=key)
    again = fleet["member"].post("/v1/workflow-runs", json=_evacuate(fleet), headers=key)
    assert ok(again, 202) == ok(first, 202)
    assert again.headers["Location"] == first.headers["Location"]
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert [r["id"] for r in _runs(fleet)] == [first.json["id"]]
    assert service.get_run(services, first.json["id"], None)["state"] == "requested"


def test_the_same_key_with_another_body_is_a_conflict(fleet):
    key = {"Idempotency-Key": "k2"}
    ok(fleet["member"].post("/v1/workflow-runs", json=_evacuate(fleet), headers=key), 202)
    other = fleet["member"].post("/v1/workflow-runs", json=_evacuate(fleet, batch_size=2),
                                 headers=key)
    assert ok(other, 409)["message"] == "this Idempotency-Key was used for another request"
    assert len(_runs(fleet)) == 1


def test_without_a_key_each_request_is_a_new_run(fleet):
    for _ in range(2):
        ok(fleet["member"].post("/v1/workflow-runs", json=_evacuate(fleet)), 202)
    assert len(_runs(fleet)) == 2


def test_unknown_query_parameters_and_body_properties_are_refused(fleet):
    member = fleet["member"]
    run = ok(member.post("/v1/workflow-runs", json=_evacuate(fleet)), 202)
    item = f"/v1/workflow-runs/{run['id']}"
    for path in (f"{item}?bogus=1", "/v1/workflows?bogus=1"):
        assert ok(member.get(path), 400)["errors"] == {"bogus": ["unknown parameter"]}
    refused = member.post("/v1/workflow-runs?bogus=1", json=_evacuate(fleet))
    assert ok(refused, 400)["errors"] == {"bogus": ["unknown parameter"]}
    assert ok(member.post(f"{item}/cancel?bogus=1"), 400)["errors"] == {
        "bogus": ["unknown parameter"]}
    forced = ok(member.post(f"{item}/cancel", json={"force": True}), 400)
    assert list(forced["errors"]) == ["force"]
    assert [(r["id"], r["state"]) for r in _runs(fleet)] == [(run["id"], "requested")]


def test_a_run_as_of_an_earlier_position_is_shown_as_it_was(fleet, services):
    member = fleet["member"]
    run = ok(member.post("/v1/workflow-runs", json={
        "workflow": "audit", "parameters": {"hosts": [fleet["host"]["id"]]}}), 202)
    assert Worker(services).run_once() == run["uuid"]
    now = ok(member.get(f"/v1/workflow-runs/{run['id']}"))
    assert now["state"] == "succeeded" and now["steps"]
    answer = member.get(f"/v1/workflow-runs/{run['id']}?as_of=@{run['id']}")
    then = ok(answer)
    assert then["state"] == "requested" and then["steps"] == [] and then["events"] == 1
    assert answer.headers["X-Craton-Position"] == str(run["id"])
    assert answer.headers["ETag"] == '"1"'
    assert member.get(f"/v1/workflow-runs/{run['id']}?as_of=@{run['id'] - 1}"
                      ).status_code == 404
    assert ok(member.get(f"/v1/workflow-runs/{run['id']}?as_of=yesterday"), 400)["errors"]
