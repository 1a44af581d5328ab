"""Run and plan listings read at one moment: ``as_of``, and links pinned to the moment
the first page was read at, as inventory listings are."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from .conftest import Caller, ok


def _request_run(member: Caller, fleet: dict[str, Any]) -> dict[str, Any]:
    created: dict[str, Any] = ok(member.post("/v1/workflow-runs", json={
        "workflow": "audit", "parameters": {"hosts": [fleet["host"]["id"]]}}), 202)
    return created


def _compute_plan(member: Caller, fleet: dict[str, Any]) -> dict[str, Any]:
    created: dict[str, Any] = ok(member.post("/v1/plans", json={
        "planner": "greedy", "time_limit_s": 5}), 201)
    return created


LISTINGS = {"workflow-runs": _request_run, "plans": _compute_plan}


def _link(body: dict[str, Any], rel: str) -> str:
    return next(link["href"] for link in body["links"] if link["rel"] == rel)


def _ids(body: dict[str, Any], name: str) -> list[int]:
    return [item["id"] for item in body[name]]


@pytest.mark.parametrize("name", LISTINGS)
def test_every_link_is_pinned_at_the_position_the_first_page_was_read_at(
        member, fleet, name):
    for _ in range(3):
        LISTINGS[name](member, fleet)
    first = member.get(f"/v1/{name}", params={"limit": 2})
    position = first.headers["X-Craton-Position"]
    for link in ok(first)["links"]:
        assert parse_qs(urlsplit(link["href"]).query)["as_of"] == [f"@{position}"], link


@pytest.mark.parametrize("name", LISTINGS)
def test_the_next_page_leaves_out_what_was_added_after_the_first(member, fleet, name):
    made = [LISTINGS[name](member, fleet) for _ in range(3)]
    first = ok(member.get(f"/v1/{name}", params={"limit": 2}))
    assert _ids(first, name) == [m["id"] for m in made[:2]]
    LISTINGS[name](member, fleet)
    second = ok(member.get(_link(first, "next")))
    assert _ids(second, name) == [made[2]["id"]]
    assert "next" not in {link["rel"] for link in second["links"]}
    assert _ids(ok(member.get(_link(second, "prev"))), name) == _ids(first, name)


def test_a_run_on_a_later_page_is_shown_as_it_was_when_the_first_was_read(member, fleet):
    runs = [_request_run(member, fleet) for _ in range(3)]
    first = ok(member.get("/v1/workflow-runs", params={"limit": 2}))
    ok(member.post(f"/v1/workflow-runs/{runs[2]['id']}/cancel"), 202)
    second = ok(member.get(_link(first, "next")))
    assert [r["state"] for r in second["workflow-runs"]] == ["requested"]
    now = ok(member.get("/v1/workflow-runs", params={"marker": runs[1]["id"]}))
    assert [r["state"] for r in now["workflow-runs"]] == ["cancelled"]


@pytest.mark.parametrize("name", LISTINGS)
def test_a_listing_as_of_a_position_is_what_it_was_then(member, fleet, name):
    made = LISTINGS[name](member, fleet)
    then = member.get(f"/v1/{name}").headers["X-Craton-Position"]
    LISTINGS[name](member, fleet)
    answer = member.get(f"/v1/{name}", params={"as_of": f"@{then}"})
    assert _ids(ok(answer), name) == [made["id"]]
    assert answer.headers["X-Craton-Position"] == then
    before = ok(member.get(f"/v1/{name}", params={"as_of": f"@{made['id'] - 1}"}))
    assert before[name] == []
    assert "as_of" in ok(member.get(f"/v1/{name}", params={"as_of": "yesterday"}),
                         400)["errors"]
