"""A representative path through the API on SQLite and on PostgreSQL."""

from __future__ import annotations

import falcon.testing

from craton.api import create_app
from craton.api.auth import create_root
from craton.domain.meta import system_meta

from .conftest import Caller, build_fleet, ok


def test_write_read_time_travel_and_idempotency_on_each_database(services):
    client = falcon.testing.TestClient(create_app(services))
    root = Caller(client, {"Authorization": f"Bearer {create_root(services)}"})
    fleet = build_fleet(root)
    member = fleet["root"]
    host = fleet["host"]["id"]
    start = int(member.get("/v1/hosts").headers["x-craton-position"])
    member.put(f"/v1/regions/{fleet['region']['id']}/variables",
               json={"variables": {"zone": "a"}})
    body = ok(member.get(f"/v1/hosts/{host}/variables?blame=true"))
    assert body["variables"] == {"zone": "a"} and body["blame"]["zone"]["type"] == "region"
    assert ok(member.put(f"/v1/hosts/{host}", json={"note": "x"},
                         headers={"If-Match": '"5"'}), 412)
    key = {"Idempotency-Key": "k"}
    first = member.post("/v1/clouds", json={"name": "c9"}, headers=key)
    assert ok(first, 201) == ok(member.post("/v1/clouds", json={"name": "c9"}, headers=key),
                                201)
    assert ok(member.post("/v1/clouds", json={"name": "c9"}), 409)
    diff = ok(member.get(f"/v1/diff?from=@{start}"))
    assert [c["name"] for c in diff["created"]] == ["c9"]
    assert ok(member.get(f"/v1/clouds?as_of=@{start}"))["clouds"][0]["name"] == "acme-cloud"
    assert client.simulate_get("/readyz").status_code == 200


def test_a_large_fact_is_recorded_and_read_back_now_and_as_of_on_each_database(services):
    client = falcon.testing.TestClient(create_app(services))
    root = Caller(client, {"Authorization": f"Bearer {create_root(services)}"})
    fleet = build_fleet(root)
    member, host = fleet["root"], fleet["host"]["id"]
    meta = system_meta(source="import").for_project(fleet["pid"])
    dmesg = "".join(f"{i:08x}" for i in range(1000))  # 8 KB: more than an index entry holds
    services.ledger.record_facts(meta, "host", host, {"dmesg": dmesg})
    now = member.get(f"/v1/hosts/{host}/facts")
    assert ok(now) == {"facts": {"dmesg": dmesg}}
    services.ledger.record_facts(meta, "host", host, {"dmesg": "quiet"})
    assert ok(member.get(f"/v1/hosts/{host}/facts"))["facts"] == {"dmesg": "quiet"}
    then = f"/v1/hosts/{host}/facts?as_of=@{now.headers['X-Craton-Position']}"
    assert ok(member.get(then)) == {"facts": {"dmesg": dmesg}}


def test_a_variable_too_long_to_match_by_value_is_refused_on_each_database(services):
    client = falcon.testing.TestClient(create_app(services))
    root = Caller(client, {"Authorization": f"Bearer {create_root(services)}"})
    member = build_fleet(root)["root"]
    host = member.get("/v1/hosts").json["hosts"][0]["id"]
    path = f"/v1/hosts/{host}/variables"
    longest = "".join(f"{i:08x}" for i in range(249))  # 1,994 bytes as JSON: no repeats
    assert ok(member.put(path, json={"variables": {"cert": longest}}))
    refused = member.put(path, json={"variables": {"cert": longest + "0123456789", "x": 1}})
    assert ok(refused, 400)["errors"] == {"cert": ["value is longer than 2000 bytes as JSON"]}
    assert ok(member.put(path, json={"variables": {"k" * 256: 1}}), 400)
    assert ok(member.get(path))["variables"] == {"cert": longest}  # nothing else was set
