"""Inventory input the API refuses: moves that would strand dependents, values out of
range or format, users in a project other than the request's, project id spellings."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import falcon.testing
import pytest

from craton.api import create_app
from craton.api.auth import create_root
from craton.bootstrap import Services

from .conftest import Caller, build_fleet, ok


@pytest.fixture
def root_each_db(services: Services) -> Iterator[Caller]:
    """Root on SQLite and on PostgreSQL."""
    client = falcon.testing.TestClient(create_app(services))
    yield Caller(client, {"Authorization": f"Bearer {create_root(services)}"})


@pytest.fixture
def two_regions(root_each_db: Caller) -> dict[str, Any]:
    """A cloud X with regions RA and RB, cell C in RA holding host Hh, and a cloud Y."""
    fleet = build_fleet(root_each_db)
    member = fleet["root"]
    fleet["rb"] = ok(member.post("/v1/regions", json={
        "name": "rb", "cloud_id": fleet["cloud"]["id"]}), 201)
    fleet["other_cloud"] = ok(member.post("/v1/clouds", json={"name": "y"}), 201)
    return fleet


def test_a_cell_holding_a_host_cannot_move_to_another_region(two_regions):
    member, cell, host = two_regions["root"], two_regions["cell"], two_regions["host"]
    moved = member.put(f"/v1/cells/{cell['id']}", json={"region_id": two_regions["rb"]["id"]})
    assert moved.status_code == 409, moved.text
    assert "1 host" in moved.json["message"] and "region_id" in moved.json["message"]
    assert ok(member.get(f"/v1/cells/{cell['id']}"))["region_id"] == two_regions["region"]["id"]
    ok(member.put(f"/v1/hosts/{host['id']}", json={"note": "x"}))


def test_a_region_holding_resources_cannot_move_to_another_cloud(two_regions):
    member, region = two_regions["root"], two_regions["region"]
    ok(member.post("/v1/networks", json={"name": "n", "region_id": region["id"]}), 201)
    moved = member.put(f"/v1/regions/{region['id']}",
                       json={"cloud_id": two_regions["other_cloud"]["id"]})
    assert moved.status_code == 409, moved.text
    message = moved.json["message"]
    assert "1 cell" in message and "1 host" in message and "1 network" in message
    assert ok(member.get(f"/v1/regions/{region['id']}"))["cloud_id"] == \
        two_regions["cloud"]["id"]
    ok(member.delete(f"/v1/clouds/{two_regions['other_cloud']['id']}"), 204)


def test_an_empty_cell_or_region_moves_and_a_renamed_one_keeps_its_dependents(two_regions):
    member, rb, y = two_regions["root"], two_regions["rb"], two_regions["other_cloud"]["id"]
    assert ok(member.put(f"/v1/regions/{rb['id']}", json={"cloud_id": y}))["cloud_id"] == y
    empty = ok(member.post("/v1/cells", json={
        "name": "e", "region_id": two_regions["region"]["id"]}), 201)
    moved = ok(member.put(f"/v1/cells/{empty['id']}", json={"region_id": rb["id"],
                                                             "cloud_id": y}))
    assert (moved["region_id"], moved["cloud_id"]) == (rb["id"], y)
    cell = two_regions["cell"]
    assert ok(member.put(f"/v1/cells/{cell['id']}", json={
        "name": "renamed", "region_id": two_regions["region"]["id"]}))["name"] == "renamed"


BAD_BODIES = [
    ("hosts", {"name": "h", "ip_address": "999.1.1.1"}, {"ip_address"}),
    ("networks", {"name": "n", "cidr": "10.0.0.0/33", "gateway": "banana",
                  "netmask": "255.0.255.0"}, {"cidr", "gateway", "netmask"}),
    ("networks", {"name": "n", "cidr": "10.0.0.0/24", "gateway": "10.0.1.1"}, {"gateway"}),
    ("networks", {"name": "n", "cidr": "10.0.0.0/24", "netmask": "255.255.0.0"},
     {"netmask"}),
    ("networks", {"name": "n", "cidr": "10.0.0.7/24"}, {"cidr"}),
    ("network-devices", {"name": "d", "vlans": [5000]}, {"vlans"}),
    ("network-interfaces", {"name": "i", "vlan_id": 99999, "port": -5,
                            "duplex": "sideways"}, {"vlan_id", "port", "duplex"}),
    ("instances", {"name": "vm", "vcpus": -4, "memory_mb": -1}, {"vcpus", "memory_mb"}),
    ("instances", {"name": "vm", "vcpus": 99999999999999999999}, {"vcpus"}),
    ("instances", {"name": "vm", "status": "weird"}, {"status"}),
    ("instances", {"name": "vm", "vcpus": None, "memory_mb": None}, {"vcpus", "memory_mb"}),
    ("hosts", {"name": "h7", "device_type": None, "active": None}, {"device_type", "active"}),
    ("network-devices", {"name": "d", "vlans": [5, 6, 5]}, {"vlans"}),
    ("instances", {"name": "vm", "group_ids": [0, 0]}, {"group_ids"}),
]


def _placed(fleet: dict[str, Any], plural: str, body: dict[str, Any]) -> dict[str, Any]:
    if plural in ("hosts", "networks", "network-devices"):
        return {**body, "region_id": fleet["region"]["id"]}
    if plural == "network-interfaces":
        return {**body, "device_id": fleet["host"]["id"]}
    return body


@pytest.mark.parametrize(("plural", "body", "named"), BAD_BODIES)
def test_a_value_out_of_range_or_format_is_refused_naming_each_field(
        two_regions, plural, body, named):
    member = two_regions["root"]
    before = member.get("/v1/events?limit=1000").json["events"]
    answer = member.post(f"/v1/{plural}", json=_placed(two_regions, plural, body))
    assert answer.status_code == 400, answer.text
    assert {key.split(".")[0] for key in answer.json["errors"]} == named
    assert member.get("/v1/events?limit=1000").json["events"] == before


def test_a_field_with_a_default_is_not_set_to_null_by_a_change(two_regions):
    member, host = two_regions["root"], two_regions["host"]
    path = f"/v1/hosts/{host['id']}"
    answer = member.put(path, json={"device_type": None, "note": "x"})
    assert answer.status_code == 400 and set(answer.json["errors"]) == {"device_type"}
    shown = ok(member.get(path))
    assert shown["device_type"] == "server" and shown.get("note") != "x"
    assert ok(member.put(path, json={"note": None})).get("note") is None  # no default: null


GOOD_BODIES = [
    ("hosts", {"name": "h6", "ip_address": "2001:db8::1"}),
    ("networks", {"name": "n4", "cidr": "10.0.0.0/24", "gateway": "10.0.0.1",
                  "netmask": "255.255.255.0"}),
    ("networks", {"name": "n6", "cidr": "2001:db8::/64", "gateway": "2001:db8::1"}),
    ("network-devices", {"name": "sw", "vlans": [1, 4094]}),
    ("network-interfaces", {"name": "eth0", "vlan_id": 4094, "port": 0, "duplex": "full",
                            "ip_address": "10.0.0.9"}),
    ("instances", {"name": "vm", "vcpus": 2, "memory_mb": 2048, "disk_gb": 0,
                   "status": "stopped"}),
]


@pytest.mark.parametrize(("plural", "body"), GOOD_BODIES)
def test_values_within_range_and_format_are_accepted(two_regions, plural, body):
    ok(two_regions["root"].post(f"/v1/{plural}", json=_placed(two_regions, plural, body)),
       201)


def test_a_gateway_changed_alone_is_checked_against_the_stored_cidr(two_regions):
    member = two_regions["root"]
    net = ok(member.post("/v1/networks", json={
        "name": "n", "region_id": two_regions["region"]["id"], "cidr": "10.0.0.0/24"}), 201)
    answer = member.put(f"/v1/networks/{net['id']}", json={"gateway": "192.0.2.1"})
    assert answer.status_code == 400 and set(answer.json["errors"]) == {"gateway"}
    ok(member.put(f"/v1/networks/{net['id']}", json={"gateway": "10.0.0.254"}))


def test_root_naming_another_project_than_its_header_is_told_they_differ(root_each_db):
    p1 = build_fleet(root_each_db, "p1")["pid"]
    p2 = build_fleet(root_each_db, "p2")["pid"]
    answer = root_each_db.in_project(p2).post("/v1/users", json={
        "username": "u", "role": "member", "project_id": p1})
    assert answer.status_code == 400, answer.text
    assert "no project" not in answer.json["message"]
    assert p1 in answer.json["message"] and p2 in answer.json["message"]


@pytest.mark.parametrize("spell", [str.upper, lambda u: "{" + u + "}",
                                   lambda u: "urn:uuid:" + u, lambda u: u.replace("-", "")])
def test_a_project_is_found_by_any_spelling_of_its_uuid(root_each_db, spell):
    pid = ok(root_each_db.post("/v1/projects", json={"name": "p"}), 201)["id"]
    assert ok(root_each_db.get(f"/v1/projects/{spell(pid)}"))["id"] == pid
    ok(root_each_db.put(f"/v1/projects/{spell(pid)}", json={"name": "q"}))


def test_a_duplicate_project_is_refused_without_naming_the_holder(root_each_db):
    # (an admin renaming its own project must not learn another project's id)
    ok(root_each_db.post("/v1/projects", json={"name": "p"}), 201)
    answer = root_each_db.post("/v1/projects", json={"name": "p"})
    assert answer.status_code == 409, answer.text
    assert answer.json["message"] == "a project named 'p' already exists"
