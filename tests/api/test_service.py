"""Service endpoints, idempotent POSTs, devices, Ansible, and the original client's shapes."""

from __future__ import annotations

from .conftest import Caller, build_fleet, ok


def test_health_ready_metrics_and_links(app_client, member):
    assert app_client.simulate_get("/healthz").json == {"status": "ok"}
    assert app_client.simulate_get("/readyz").status_code == 200
    member.get("/v1/hosts")
    text = app_client.simulate_get("/metrics").text
    assert 'craton_http_requests_total{method="GET",route="/v1/hosts",status="200"}' in text
    assert "craton_http_request_duration_seconds_bucket" in text
    links = app_client.simulate_get("/v1").json["links"]
    assert {"rel": "hosts", "href": "/v1/hosts"} in links


def test_missing_routes_and_methods_answer_in_the_error_shape(member):
    assert ok(member.get("/v1/nothing"), 404)["status"] == 404
    assert ok(member.post("/v1/devices", json={}), 405)["status"] == 405


def test_idempotency_key_replays_the_first_response(member, fleet):
    body = {"name": "once", "region_id": fleet["region"]["id"]}
    key = {"Idempotency-Key": "abc-1"}
    first = member.post("/v1/hosts", json=body, headers=key)
    again = member.post("/v1/hosts", json=body, headers=key)
    assert ok(first, 201) == ok(again, 201)
    assert again.headers["location"] == first.headers["location"]
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["etag"] == first.headers["etag"]
    assert again.headers["x-craton-position"] == first.headers["x-craton-position"]
    created = [e for e in ok(member.get("/v1/events?event_type=Host.Registered"))["events"]
               if e["resource_id"] == first.json["id"]]
    assert len(created) == 1
    other = member.post("/v1/hosts", json={**body, "name": "other"}, headers=key)
    assert ok(other, 409)
    fresh = member.post("/v1/hosts", json={**body, "name": "twice"},
                        headers={"Idempotency-Key": "abc-2"})
    assert ok(fresh, 201)["id"] != first.json["id"]


def test_an_idempotency_key_reused_in_another_project_is_another_request(root, fleet):
    """Root acting in two projects: the same key, path and body in the second is not
    answered with the first project's cloud."""
    other = build_fleet(root, "globex")
    key = {"Idempotency-Key": "k1"}
    first = ok(fleet["root"].post("/v1/clouds", json={"name": "idem"}, headers=key), 201)
    assert first["project_id"] == fleet["pid"]
    again = other["root"].post("/v1/clouds", json={"name": "idem"}, headers=key)
    assert "another request" in ok(again, 409)["message"]
    assert ok(other["root"].get("/v1/clouds", params={"name": "idem"}))["clouds"] == []


def test_devices_lists_both_kinds_and_walks_descendants(member, fleet):
    region = fleet["region"]["id"]
    parent = fleet["host"]["id"]
    switch = ok(member.post("/v1/network-devices", json={
        "name": "sw", "region_id": region, "parent_id": parent}), 201)
    child = ok(member.post("/v1/hosts", json={
        "name": "child", "region_id": region, "parent_id": switch["id"]}), 201)
    body = ok(member.get("/v1/devices"))["devices"]
    assert len(body["hosts"]) == 2 and len(body["network-devices"]) == 1
    direct = ok(member.get(f"/v1/devices?parent_id={parent}"))["devices"]
    assert [d["id"] for d in direct["network-devices"]] == [switch["id"]] and not direct["hosts"]
    tree = ok(member.get(f"/v1/devices?parent_id={parent}&descendants=true"))["devices"]
    assert [d["id"] for d in tree["hosts"]] == [child["id"]]
    assert ok(member.delete(f"/v1/network-devices/{switch['id']}"), 409)


def test_ansible_inventory_groups_hosts_and_resolves_their_variables(member, fleet):
    member.put(f"/v1/regions/{fleet['region']['id']}/variables",
               json={"variables": {"ntp": "10.0.0.1"}})
    host = fleet["host"]
    member.put(f"/v1/hosts/{host['id']}", json={"ip_address": "192.0.2.7"})
    before = member.get("/v1/ansible-inventory").headers["X-Craton-Position"]
    member.put(f"/v1/hosts/{host['id']}/labels", json={"labels": ["web"]})
    inv = ok(member.get(f"/v1/ansible-inventory?region_id={fleet['region']['id']}"))
    then = ok(member.get(f"/v1/ansible-inventory?as_of=@{before}"))
    assert "label_web" not in then and host["name"] in then["_meta"]["hostvars"]
    name = host["name"]
    assert inv["_meta"]["hostvars"][name] == {"ntp": "10.0.0.1", "ansible_host": "192.0.2.7"}
    assert inv["label_web"]["hosts"] == [name]
    assert inv[f"region_{fleet['region']['name']}"]["hosts"] == [name]
    assert inv[f"cell_{fleet['cell']['name']}"]["hosts"] == [name]
    assert ok(member.get("/v1/ansible-inventory?label=none"))["_meta"]["hostvars"] == {}


def test_ansible_inventory_keeps_hosts_and_regions_that_share_a_name_apart(member, fleet):
    """Names are unique per region (hosts) and per cloud (regions): hosts that share a
    name are each their own inventory entry, with their own address and variables."""
    other_cloud = ok(member.post("/v1/clouds", json={"name": "second"}), 201)
    other_region = ok(member.post("/v1/regions", json={
        "name": fleet["region"]["name"], "cloud_id": other_cloud["id"]}), 201)
    mine = ok(member.post("/v1/hosts", json={
        "name": "h3", "region_id": fleet["region"]["id"], "ip_address": "192.0.2.1",
        "variables": {"where": "first"}}), 201)
    theirs = ok(member.post("/v1/hosts", json={
        "name": "h3", "region_id": other_region["id"], "ip_address": "192.0.2.2",
        "variables": {"where": "second"}}), 201)
    inv = ok(member.get("/v1/ansible-inventory"))
    hostvars = inv["_meta"]["hostvars"]
    a, b = f"h3-{mine['id']}", f"h3-{theirs['id']}"
    assert hostvars[a] == {"where": "first", "ansible_host": "192.0.2.1"}
    assert hostvars[b] == {"where": "second", "ansible_host": "192.0.2.2"}
    assert "h3" not in hostvars and fleet["host"]["name"] in hostvars
    region = fleet["region"]["name"]
    assert inv[f"region_{region}-{fleet['region']['id']}"]["hosts"] == sorted(
        [fleet["host"]["name"], a])
    assert inv[f"region_{region}-{other_region['id']}"]["hosts"] == [b]
    assert f"region_{region}" not in inv
    assert sorted(inv["device_type_server"]["hosts"]) == sorted([fleet["host"]["name"], a, b])


def test_original_client_request_shapes(root, fleet):
    """Header credentials, marker/limit, variables and labels bodies, resolved-values."""
    user = ok(root.post("/v1/users", json={"username": "legacy", "role": "member",
                                           "project_id": fleet["pid"]}), 201)
    client = Caller(root.client, {"X-Auth-Project": fleet["pid"], "X-Auth-User": "legacy",
                                  "X-Auth-Token": user["token"],
                                  "Content-Type": "application/json"})
    region = fleet["region"]["id"]
    for i in range(3):
        client.post("/v1/hosts", json={"name": f"old-{i}", "region_id": region,
                                       "device_type": "server"})
    page = ok(client.get(f"/v1/hosts?region_id={region}&limit=2"))
    marker = page["hosts"][-1]["id"]
    rest = ok(client.get(f"/v1/hosts?region_id={region}&limit=2&marker={marker}"))
    assert len(page["hosts"]) + len(rest["hosts"]) == 4
    host = page["hosts"][0]["id"]
    ok(client.put(f"/v1/hosts/{host}/variables", json={"variables": {"a": "b"}}))
    ok(client.delete(f"/v1/hosts/{host}/variables", json={"variables": ["a"]}))
    ok(client.put(f"/v1/hosts/{host}/labels", json={"labels": ["x"]}))
    resolved = ok(client.get(f"/v1/hosts/{host}/variables?resolved-values=true"))
    assert resolved["resolved"] is True
    wrong = Caller(root.client, {**client.headers, "X-Auth-Token": "nope"})
    assert ok(wrong.get("/v1/hosts"), 401)["status"] == 401
