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


def test_a_first_page_and_the_pages_after_it_are_pinned_to_one_position_on_each_database(
        services):
    """A first page now is read in one statement with the log's head; the pages after
    it follow its links, as of that head, whatever is written in between."""
    client = falcon.testing.TestClient(create_app(services))
    root = Caller(client, {"Authorization": f"Bearer {create_root(services)}"})
    fleet = build_fleet(root)
    member, region = fleet["root"], fleet["region"]["id"]
    for n in range(4):
        ok(member.post("/v1/hosts", json={"name": f"h{n}", "region_id": region,
                                          "labels": ["b", "a"], "variables": {"n": n}}), 201)
    first = member.get("/v1/hosts?limit=2&details=true")
    body = ok(first)
    position = int(first.headers["x-craton-position"])
    assert position == int(member.get("/v1/clouds").headers["x-craton-position"])
    assert [h["name"] for h in body["hosts"]] == ["acme-host", "h0"]
    assert body["hosts"][1]["labels"] == ["a", "b"]
    assert body["hosts"][1]["variables"] == {"n": 0}
    ok(member.post("/v1/hosts", json={"name": "later", "region_id": region}), 201)
    following, names = body, []
    while (nxt := next((link["href"] for link in following["links"]
                        if link["rel"] == "next"), None)) is not None:
        assert f"as_of=%40{position}" in nxt
        following = ok(member.get(nxt))
        names += [h["name"] for h in following["hosts"]]
    assert names == ["h1", "h2", "h3"]  # not "later": the pages are as of the first's head
    devices = member.get("/v1/devices?limit=3")
    assert int(devices.headers["x-craton-position"]) == position + 1
    assert [h["name"] for h in ok(devices)["devices"]["hosts"]] == ["acme-host", "h0", "h1"]
    empty = member.get("/v1/hosts?name=nobody")
    assert ok(empty)["hosts"] == [] and int(empty.headers["x-craton-position"]) == position + 1
    ok(member.post("/v1/network-devices", json={"name": "sw1", "region_id": region,
                                                "device_type": "switch"}), 201)
    whole = ok(member.get("/v1/devices?limit=100"))["devices"]
    paged: dict[str, list[str]] = {"hosts": [], "network-devices": []}
    page = ok(member.get("/v1/devices?limit=2"))
    while True:  # the pages after the first, each after a marker, grouped by kind
        for plural, found in page["devices"].items():
            paged[plural] += [d["name"] for d in found]
        nxt = next((link["href"] for link in page["links"] if link["rel"] == "next"), None)
        if nxt is None:
            break
        page = ok(member.get(nxt))
    assert paged == {plural: [d["name"] for d in found] for plural, found in whole.items()}
    assert paged["network-devices"] == ["sw1"] and len(paged["hosts"]) == 6
