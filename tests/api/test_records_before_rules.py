"""A record stored before a field rule existed stays readable and editable."""

from __future__ import annotations

from craton.domain.inventory import Host, Instance
from craton.domain.meta import Meta

from .conftest import ok


def _old_records(svc, fleet) -> None:
    """A host and an instance as they could be stored before today's value rules (the
    constructor is the Registered event itself: no command checked them)."""
    meta = Meta(actor_id=None, actor_name="old", source="import",
                project_id=fleet["pid"]).as_dict()
    where = {"region_id": fleet["region"]["id"], "cloud_id": fleet["cloud"]["id"]}
    svc.ledger.save(Host(meta, fleet["pid"], {
        "name": "old-host", **where, "ip_address": "10.0.0.1/24", "device_type": "server",
        "active": True}, {}, []))
    svc.ledger.save(Instance(meta, fleet["pid"], {
        "name": "old-vm", "status": "SUSPENDED", "vcpus": 0, "memory_mb": 512,
        "disk_gb": 1}, {}, []))


def test_an_old_record_sent_back_as_read_is_accepted(svc, member, fleet):
    _old_records(svc, fleet)
    host = ok(member.get("/v1/hosts", params={"name": "old-host"}))["hosts"][0]
    vm = ok(member.get("/v1/instances", params={"name": "old-vm"}))["instances"][0]
    sent = {"active": False, "ip_address": host["ip_address"]}
    assert ok(member.put(f"/v1/hosts/{host['id']}", json=sent))["active"] is False
    changed = ok(member.put(f"/v1/instances/{vm['id']}", json={
        "flavor": "m1", "status": vm["status"], "vcpus": vm["vcpus"]}))
    assert changed["flavor"] == "m1" and changed["vcpus"] == 0
    refused = ok(member.put(f"/v1/instances/{vm['id']}", json={"vcpus": -1}), 400)
    assert "vcpus" in refused["errors"]


def test_an_instance_status_is_nova_s_in_any_case(member, fleet):
    host = fleet["host"]["id"]
    made = ok(member.post("/v1/instances", json={"name": "vm", "host_id": host,
                                                 "status": "SHUTOFF"}), 201)
    assert made["status"] == "SHUTOFF"
    refused = ok(member.post("/v1/instances", json={"name": "vm2", "status": "weird"}), 400)
    assert "status" in refused["errors"]
