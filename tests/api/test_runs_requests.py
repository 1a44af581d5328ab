"""Requesting runs over HTTP: driver settings judged at once, and Idempotency-Key honoured."""

from __future__ import annotations

from typing import Any

import falcon.testing
import pytest

from craton.api import create_app
from craton.api.auth import create_root
from craton.flows import service
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


def test_settings_of_a_driver_not_installed_here_are_left_to_its_worker(fleet):
    ok(fleet["member"].post("/v1/workflow-runs", json=_evacuate(
        fleet, driver="elsewhere", driver_config={"bogus": 1})), 202)


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
