"""Evacuations keep instance groups: anti-affinity members never share the new host."""

from __future__ import annotations

from typing import Any

from craton.projections.listing import get_row


def _group(fleet: Any, name: str, policy: str, instances: list[Any]) -> int:
    group = fleet.svc.ledger.register(fleet.meta, "instance-group",
                                      {"name": name, "policy": policy})
    for instance in instances:
        fleet.svc.ledger.update(fleet.meta, "instance", instance.id,
                                {"group_ids": [group["id"]]})
    return int(group["id"])


def _host_of(fleet: Any, instance_id: int) -> int:
    with fleet.svc.db.reading() as conn:
        return int(get_row(conn, "instance", instance_id, None, None).data["host_id"])


def _two_hosts_with_guests(fleet: Any) -> tuple[list[int], Any, Any]:
    for a, b in zip(fleet.hosts, fleet.hosts[1:], strict=False):
        first, second = fleet.instances_on([a]), fleet.instances_on([b])
        if first and second:
            return [a, b], first[0], second[0]
    raise AssertionError("the demo fleet has no two neighbouring hosts with guests")


def test_anti_affinity_members_in_one_batch_never_share_the_new_host(fleet):
    sources, one, other = _two_hosts_with_guests(fleet)
    _group(fleet, "spread-test", "anti-affinity", [one, other])
    run = fleet.run("evacuate", hosts=sources, batch_size=2)
    assert run["state"] == "succeeded", run.get("error")
    assert _host_of(fleet, one.id) != _host_of(fleet, other.id)
    handed = [h for h in run["handovers"] if h["instance_id"] in (one.id, other.id)]
    assert [h["instance_id"] for h in handed] == [other.id]
    assert "anti-affinity group 'spread-test'" in handed[0]["reason"]
    assert _host_of(fleet, other.id) in sources  # handed over where it was


def test_affinity_members_left_behind_keep_their_partner_in_place(fleet):
    sources, one, other = _two_hosts_with_guests(fleet)
    _group(fleet, "together-test", "affinity", [one, other])
    run = fleet.run("evacuate", hosts=sources[:1])
    assert run["state"] == "succeeded", run.get("error")
    assert [h["instance_id"] for h in run["handovers"]] == [one.id]
    assert "affinity group 'together-test'" in run["handovers"][0]["reason"]
    assert _host_of(fleet, one.id) == sources[0]


def test_affinity_members_moving_together_share_the_new_host(fleet):
    sources, one, other = _two_hosts_with_guests(fleet)
    _group(fleet, "together-test", "affinity", [one, other])
    run = fleet.run("evacuate", hosts=sources, batch_size=2)
    assert run["state"] == "succeeded", run.get("error")
    assert run["handovers"] == []
    assert _host_of(fleet, one.id) == _host_of(fleet, other.id) not in sources
