"""Requests at the edges of HTTP and JSON: each answers 4xx in the error shape, or as
the contract says, and never 500."""

from __future__ import annotations

from typing import Any

import falcon.testing
import pytest

from craton.api import create_app
from craton.api.auth import create_root

from .conftest import Caller, build_fleet, ok


def _refused(result: falcon.testing.Result, status: int = 400) -> dict[str, Any]:
    assert result.status_code == status, (result.status_code, result.text)
    body: dict[str, Any] = result.json
    assert body["status"] == status and body["message"]
    return body


EDGE_TIMES = ("9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00+05:00")


def test_times_at_the_ends_of_the_calendar_are_before_or_after_every_event(services):
    client = falcon.testing.TestClient(create_app(services))
    root = Caller(client, {"Authorization": f"Bearer {create_root(services)}"})
    member = build_fleet(root)["root"]
    head = int(member.get("/v1/hosts").headers["X-Craton-Position"])
    latest, earliest = EDGE_TIMES
    assert len(ok(member.get("/v1/hosts", params={"as_of": latest}))["hosts"]) == 1
    assert ok(member.get("/v1/hosts", params={"as_of": earliest}))["hosts"] == []
    assert ok(member.get("/v1/diff", params={"from": earliest, "to": latest}))["to"] == head
    assert ok(member.get("/v1/diff", params={"from": "@1", "to": latest}))["from"] == 1
    every = ok(member.get("/v1/events"))["events"]
    assert ok(member.get("/v1/events", params={"since": earliest}))["events"] == every
    assert ok(member.get("/v1/events", params={"since": latest}))["events"] == []
    assert ok(member.get("/v1/events", params={"until": earliest}))["events"] == []
    for name in ("change-activity", "unreasoned-changes"):
        ok(member.get(f"/v1/reports/{name}", params={"from": earliest}))
        ok(member.get(f"/v1/reports/{name}", params={"to": earliest}))


def test_a_diff_whose_from_is_after_its_to_is_refused(member, fleet):
    head = int(member.get("/v1/hosts").headers["X-Craton-Position"])
    body = _refused(member.get("/v1/diff", params={"from": f"@{head}", "to": "@1"}))
    assert "from" in body["errors"]
    _refused(member.get("/v1/diff", params={"from": f"@{head + 5}"}))
    _refused(member.get("/v1/diff", params={
        "from": "2030-01-02T00:00:00Z", "to": "2030-01-01T00:00:00Z"}))
    assert ok(member.get("/v1/diff", params={"from": "@1", "to": f"@{head}"}))["from"] == 1


SURROGATE = '"\\ud800"'


NUL = '"a\\u0000b"'
SPELLINGS = [("post", "/v1/clouds", '{"name": $}'),
             ("put", "/v1/clouds/{cloud}/variables", '{"variables": {"k": $}}'),
             ("put", "/v1/clouds/{cloud}/variables", '{"variables": {$: 1}}'),
             ("put", "/v1/hosts/{host}/labels", '{"labels": [$]}'),
             ("put", "/v1/hosts/{host}", '{"device_type": $}')]


@pytest.mark.parametrize(("method", "path", "text", "said"), [
    *((method, path, text.replace("$", SURROGATE), "invalid Unicode")
      for method, path, text in SPELLINGS),
    ("put", "/v1/hosts/{host}", '{"note": "a\\udfffb"}', "invalid Unicode"),
    ("post", "/v1/workflow-runs",
     '{"workflow": "audit", "parameters": {"x": $}}'.replace("$", SURROGATE), "invalid Unicode"),
    *((method, path, text.replace("$", NUL), "NUL character") for method, path, text in SPELLINGS),
])
def test_unstorable_text_in_a_body_is_refused_and_changes_nothing(member, fleet, method, path,
                                                                 text, said):
    before = member.get("/v1/events").headers["X-Craton-Position"]
    url = path.format(cloud=fleet["cloud"]["id"], host=fleet["host"]["id"])
    body = _refused(getattr(member, method)(url, body=text, headers={
        "Content-Type": "application/json"}))
    assert said in body["message"] and body["errors"]["body"]
    assert member.get("/v1/events").headers["X-Craton-Position"] == before


def test_a_lone_surrogate_in_a_vars_filter_is_refused(member, fleet):
    _refused(member.get("/v1/hosts", params={"vars": f"k:{SURROGATE}"}))


@pytest.mark.parametrize(("path", "params"), [
    ("/v1/hosts", {"name": "a\x00b"}),
    ("/v1/hosts", {"label": "a\x00b"}),
    ("/v1/hosts", {"vars": "k\x00:1"}),
    ("/v1/events", {"actor": "a\x00"}),
    ("/v1/projects", {"name": "\x00"}),
])
def test_a_nul_character_in_a_query_is_refused(member, fleet, path, params):
    assert "NUL character" in _refused(member.get(path, params=params))["message"]


@pytest.mark.parametrize("text", [
    "[" * 30000 + "]" * 30000,  # under the fixture's 64 KiB body limit
    '{"variables": {"k": ' + "[" * 3000 + "]" * 3000 + "}}",
    '{"variables": {"k": ' + '{"a": ' * 70 + "1" + "}" * 70 + "}}",
])
def test_json_nested_too_deep_is_refused(member, fleet, text):
    path = f"/v1/clouds/{fleet['cloud']['id']}/variables"
    body = _refused(member.put(path, body=text, headers={"Content-Type": "application/json"}))
    assert "nested deeper" in body["message"]
    assert ok(member.get(path))["variables"] == {}


def test_json_nested_a_little_is_stored(member, fleet):
    path = f"/v1/clouds/{fleet['cloud']['id']}/variables"
    value: Any = 1
    for _ in range(40):
        value = {"a": value}
    assert ok(member.put(path, json={"variables": {"k": value}}))["variables"]["k"] == value


def test_a_vars_filter_nested_too_deep_is_refused(member, fleet):
    _refused(member.get("/v1/hosts", params={"vars": "k:" + "[" * 2000 + "]" * 2000}))


def test_a_utf8_reason_is_stored_as_written(member, fleet):
    latin1 = "CHG-42 café".encode().decode("latin-1")  # as WSGI hands it over
    ok(member.put(f"/v1/hosts/{fleet['host']['id']}", json={"note": "n"},
                  headers={"X-Craton-Reason": latin1}))
    last = ok(member.get("/v1/events"))["events"][-1]
    assert last["reason"] == "CHG-42 café"


def test_a_reason_that_is_not_utf8_is_kept_as_it_came(member, fleet):
    ok(member.put(f"/v1/hosts/{fleet['host']['id']}", json={"note": "n"},
                  headers={"X-Craton-Reason": "caf\xe9"}))
    assert ok(member.get("/v1/events"))["events"][-1]["reason"] == "caf\xe9"


def test_if_match_accepts_a_list_and_compares_strongly(member, fleet):
    path = f"/v1/hosts/{fleet['host']['id']}"
    version = int(member.get(path).headers["ETag"].strip('"'))
    _refused(member.put(path, json={"note": "a"}, headers={"If-Match": f'W/"{version}"'}),
             412)
    _refused(member.put(path, json={"note": "a"}, headers={"If-Match": '"900", "901"'}), 412)
    changed = member.put(path, json={"note": "a"},
                         headers={"If-Match": f'"1", "{version}"'})
    assert ok(changed)["note"] == "a" and changed.headers["ETag"] == f'"{version + 1}"'
    variables = f"{path}/variables"
    ok(member.put(variables, json={"variables": {"k": 1}},
                  headers={"If-Match": f'"{version + 1}", "99"'}))


def test_head_answers_like_get_without_a_body(member, fleet):
    for path in ("/v1/hosts", f"/v1/hosts/{fleet['host']['id']}", "/v1/events", "/healthz"):
        got = member.get(path)
        head = member._do("HEAD", path)
        assert head.status_code == 200 and head.content == b""
        assert head.headers.get("X-Craton-Position") == got.headers.get("X-Craton-Position")
        assert head.headers["Content-Length"] == str(len(got.content))


def _rels(body: dict[str, Any]) -> list[str]:
    return [link["rel"] for link in body["links"]]


def test_workflow_runs_carry_position_etag_and_links(member, fleet):
    runs = [ok(member.post("/v1/workflow-runs", json={
        "workflow": "audit", "parameters": {"hosts": [fleet["host"]["id"]]}}), 202)
        for _ in range(3)]
    item = member.get(f"/v1/workflow-runs/{runs[0]['id']}")
    assert ok(item)["id"] == runs[0]["id"]
    assert item.headers["ETag"] == '"1"' and int(item.headers["X-Craton-Position"]) > 0
    first = member.get("/v1/workflow-runs", params={"limit": 2})
    assert int(first.headers["X-Craton-Position"]) > 0
    assert _rels(ok(first)) == ["first", "self", "next"]
    next_href = ok(first)["links"][-1]["href"]
    second = ok(member.get(next_href))
    assert [r["id"] for r in second["workflow-runs"]] == [runs[2]["id"]]
    assert _rels(second) == ["first", "prev", "self"]
    assert ok(member.get(second["links"][1]["href"]))["workflow-runs"] == ok(first)[
        "workflow-runs"]


def test_plans_list_has_links(member, fleet):
    body = ok(member.get("/v1/plans"))
    assert body["plans"] == [] and _rels(body) == ["first", "self"]


def test_events_pages_link_back(member, fleet):
    first = ok(member.get("/v1/events", params={"limit": 2}))
    assert _rels(first) == ["first", "self", "next"]
    second = ok(member.get(first["links"][-1]["href"]))
    assert "prev" in _rels(second)
    third = ok(member.get(second["links"][-1]["href"]))
    prev = next(link["href"] for link in third["links"] if link["rel"] == "prev")
    assert ok(member.get(prev))["events"] == second["events"]


def test_rfc_3339_times_may_spell_t_and_z_in_lower_case(member, fleet):
    head = member.get("/v1/hosts").headers["X-Craton-Position"]
    for spelt in ("2999-01-01T00:00:00Z", "2999-01-01t00:00:00z", "2999-01-01t00:00:00+00:00"):
        answer = member.get("/v1/hosts", params={"as_of": spelt})
        assert answer.headers["X-Craton-Position"] == head, spelt
        assert len(ok(answer)["hosts"]) == 1
