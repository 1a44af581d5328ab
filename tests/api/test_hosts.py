"""Hosts end to end through the API: create, read, update, delete, and every refusal."""

from __future__ import annotations

from typing import Any

from .conftest import Caller, ok


def new_host(member: Caller, fleet: dict[str, Any], **fields: Any) -> dict[str, Any]:
    body = {"name": "h-new", "region_id": fleet["region"]["id"], **fields}
    return ok(member.post("/v1/hosts", json=body), 201)


def test_created_host_is_returned_with_location_and_etag(member, fleet):
    result = member.post("/v1/hosts", json={
        "name": "web-1", "region_id": fleet["region"]["id"], "ip_address": "10.0.0.1",
        "labels": ["web"], "variables": {"zone": "a"}})
    host = ok(result, 201)
    assert result.headers["location"] == f"/v1/hosts/{host['id']}"
    assert result.headers["etag"] == '"1"'
    assert host["cloud_id"] == fleet["cloud"]["id"]
    assert host["labels"] == ["web"] and host["variables"] == {"zone": "a"}
    assert host["project_id"] == fleet["pid"]
    got = member.get(f"/v1/hosts/{host['id']}")
    assert ok(got)["name"] == "web-1"
    assert got.headers["etag"] == '"1"' and int(got.headers["x-craton-position"]) >= host["id"]


def test_every_validation_problem_is_listed(member):
    result = member.post("/v1/hosts", json={"bogus": 1, "active": "yes", "region_id": "x"})
    body = ok(result, 400)
    assert body["status"] == 400 and body["message"]
    assert set(body["errors"]) == {"bogus", "active", "region_id", "name"}


def test_wrong_types_and_unknown_query_parameters_are_refused(member):
    body = ok(member.get("/v1/hosts?limit=0&colour=red&sort_dir=up"), 400)
    assert set(body["errors"]) == {"limit", "colour", "sort_dir"}
    assert ok(member.post("/v1/hosts", json={"name": "x", "region_id": True}), 400)


def test_update_is_partial_and_bumps_the_etag(member, fleet):
    host = fleet["host"]
    result = member.put(f"/v1/hosts/{host['id']}", json={"note": "rack 4"})
    body = ok(result)
    assert body["note"] == "rack 4" and body["name"] == host["name"]
    assert result.headers["etag"] == '"2"'


def test_if_match_that_does_not_match_is_412(member, fleet):
    path = f"/v1/hosts/{fleet['host']['id']}"
    assert ok(member.put(path, json={"note": "a"}, headers={"If-Match": '"7"'}), 412)
    assert ok(member.put(path, json={"note": "a"}, headers={"If-Match": "junk"}), 412)
    ok(member.put(path, json={"note": "a"}, headers={"If-Match": '"1"'}))
    assert ok(member.delete(path, headers={"If-Match": '"1"'}), 412)
    assert member.delete(path, headers={"If-Match": '"2"'}).status_code == 204


def test_unknown_ids_are_404_for_every_method(member):
    for method in ("get", "put", "delete"):
        kwargs = {"json": {"note": "x"}} if method == "put" else {}
        assert getattr(member, method)("/v1/hosts/999999", **kwargs).status_code == 404
    assert member.get("/v1/hosts/not-a-number").status_code == 404
    assert member.get("/v1/hosts/999999/variables").status_code == 404


def test_duplicate_name_in_a_region_is_409(member, fleet):
    body = ok(member.post("/v1/hosts", json={
        "name": fleet["host"]["name"], "region_id": fleet["region"]["id"]}), 409)
    assert "already exists" in body["message"]


def test_reference_to_a_missing_region_is_400(member):
    body = ok(member.post("/v1/hosts", json={"name": "x", "region_id": 424242}), 400)
    assert "region_id" in body["errors"]


def test_parent_cycle_is_400(member, fleet):
    a = new_host(member, fleet, name="a")
    b = new_host(member, fleet, name="b", parent_id=a["id"])
    body = ok(member.put(f"/v1/hosts/{a['id']}", json={"parent_id": b["id"]}), 400)
    assert "parent_id" in body["errors"]


def test_deleting_a_region_with_children_is_409_and_says_what(member, fleet):
    body = ok(member.delete(f"/v1/regions/{fleet['region']['id']}"), 409)
    assert fleet["cell"]["name"] in body["message"]


def test_deleted_host_is_404_now(member, fleet):
    path = f"/v1/hosts/{fleet['host']['id']}"
    assert member.delete(path).status_code == 204
    assert member.get(path).status_code == 404
    assert member.delete(path).status_code == 404


def test_oversized_body_is_413_and_non_json_is_415(member, fleet):
    big = {"name": "x" * 70_000, "region_id": fleet["region"]["id"]}
    assert ok(member.post("/v1/hosts", json=big), 413)["status"] == 413
    result = member.post("/v1/hosts", body="name=x",
                         headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert ok(result, 415)["status"] == 415
    bad = member.post("/v1/hosts", body="{not json",
                      headers={"Content-Type": "application/json"})
    assert ok(bad, 400)["errors"] == {"body": ["not valid JSON"]}
    assert ok(member.post("/v1/hosts", json=[1, 2]), 400)


def test_root_without_project_cannot_create_project_scoped_things(root, fleet):
    body = ok(root.post("/v1/hosts", json={"name": "x", "region_id": fleet["region"]["id"]}),
              400)
    assert "X-Auth-Project" in body["message"]


def test_root_reads_across_projects_without_a_project(root, fleet):
    listed = ok(root.get("/v1/hosts"))["hosts"]
    assert [h["id"] for h in listed] == [fleet["host"]["id"]]


def test_instance_put_with_host_id_places_it(member, fleet):
    inst = ok(member.post("/v1/instances", json={"name": "vm-1"}), 201)
    moved = ok(member.put(f"/v1/instances/{inst['id']}", json={
        "host_id": fleet["host"]["id"], "vcpus": 4}))
    assert moved["host_id"] == fleet["host"]["id"] and moved["vcpus"] == 4
    off = new_host(member, fleet, name="off", active=False)
    body = ok(member.put(f"/v1/instances/{inst['id']}", json={"host_id": off["id"]}), 400)
    assert "host_id" in body["errors"]
