"""Every inventory collection: create, list, get, update, delete."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import Caller, ok


def bodies(fleet: dict[str, Any], member: Caller) -> dict[str, dict[str, Any]]:
    region, host = fleet["region"]["id"], fleet["host"]["id"]
    network = ok(member.post("/v1/networks", json={"name": "net-x", "region_id": region,
                                                    "cidr": "10.0.0.0/24"}), 201)
    return {
        "clouds": {"name": "c2", "note": "n"},
        "regions": {"name": "r2", "cloud_id": fleet["cloud"]["id"]},
        "cells": {"name": "c2", "region_id": region},
        "hosts": {"name": "h2", "region_id": region, "ip_address": "10.1.1.1"},
        "network-devices": {"name": "sw1", "region_id": region, "model_name": "x",
                            "vlans": [1, 2]},
        "networks": {"name": "net-2", "region_id": region, "gateway": "10.0.0.1"},
        "network-interfaces": {"name": "eth0", "device_id": host,
                               "network_id": network["id"], "vlan_id": 4},
        "instance-groups": {"name": "g1", "policy": "anti-affinity"},
        "instances": {"name": "vm", "host_id": host, "vcpus": 2, "memory_mb": 1024},
    }


PLURALS = ["clouds", "regions", "cells", "hosts", "network-devices", "networks",
           "network-interfaces", "instance-groups", "instances"]


@pytest.mark.parametrize("plural", PLURALS)
def test_collection_lifecycle(plural, member, fleet):
    body = bodies(fleet, member)[plural]
    created = ok(member.post(f"/v1/{plural}", json=body), 201)
    for key, value in body.items():
        assert created[key] == value
    listed = ok(member.get(f"/v1/{plural}?name={body['name']}"))
    assert [x["id"] for x in listed[plural]] == [created["id"]]
    path = f"/v1/{plural}/{created['id']}"
    assert ok(member.get(path))["name"] == body["name"]
    assert ok(member.put(path, json={"name": body["name"] + "-b"}))["name"].endswith("-b")
    assert member.delete(path).status_code == 204
    assert member.get(path).status_code == 404


def test_instance_group_policy_is_checked(member):
    body = ok(member.post("/v1/instance-groups", json={"name": "g", "policy": "random"}), 400)
    assert "policy" in body["errors"]


def test_list_filters_by_fields_and_booleans(member, fleet):
    region = fleet["region"]["id"]
    ok(member.post("/v1/hosts", json={"name": "off", "region_id": region, "active": False}),
       201)
    names = [h["name"] for h in ok(member.get("/v1/hosts?active=false"))["hosts"]]
    assert names == ["off"]
    by_cell = ok(member.get(f"/v1/hosts?cell_id={fleet['cell']['id']}"))["hosts"]
    assert [h["name"] for h in by_cell] == [fleet["host"]["name"]]


def test_details_true_includes_variables(member, fleet):
    member.put(f"/v1/hosts/{fleet['host']['id']}/variables", json={"variables": {"k": 1}})
    plain = ok(member.get("/v1/hosts"))["hosts"][0]
    detailed = ok(member.get("/v1/hosts?details=true"))["hosts"][0]
    assert "variables" not in plain and detailed["variables"] == {"k": 1}


def test_projects_are_managed_by_root_and_shown_to_their_admin(root, fleet):
    projects = ok(root.get("/v1/projects"))["projects"]
    assert [p["id"] for p in projects] == [fleet["pid"]]
    admin = Caller(root.client, {"Authorization": "Bearer " + ok(root.post(
        "/v1/users", json={"username": "ada", "role": "admin",
                           "project_id": fleet["pid"]}), 201)["token"]})
    path = f"/v1/projects/{fleet['pid']}"
    assert ok(admin.put(path, json={"name": "acme-2"}))["name"] == "acme-2"
    assert admin.get("/v1/projects").status_code == 403
    assert ok(root.delete(path), 409)
    empty = ok(root.post("/v1/projects", json={"name": "empty"}), 201)
    assert root.delete(f"/v1/projects/{empty['id']}").status_code == 204
    assert root.get(f"/v1/projects/{empty['id']}").status_code == 404


def test_users_get_a_token_once_and_never_again(root, fleet):
    created = ok(root.post("/v1/users", json={
        "username": "bob", "role": "member", "project_id": fleet["pid"]}), 201)
    assert created["token"].startswith(f"{created['id']}.")
    shown = ok(root.get(f"/v1/users/{created['id']}"))
    assert "token" not in shown and shown["username"] == "bob" and shown["role"] == "member"
    listed = ok(root.get("/v1/users"))["users"]
    assert all("token" not in u and "secret" not in u for u in listed)
    events = ok(root.get("/v1/events?resource_type=user"))["events"]
    assert created["token"].split(".", 1)[1] not in str(events)
