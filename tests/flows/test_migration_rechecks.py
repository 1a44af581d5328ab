"""A move re-checks its target when it runs: a host deactivated since takes nothing."""

from __future__ import annotations

import threading
import time

from craton.drivers.simulator import watch_migrations
from craton.flows import service
from craton.flows.worker import Worker
from tests.flows.conftest import Fleet


def test_a_target_host_deactivated_during_a_migration_takes_no_instance(services):
    fleet = Fleet(services)
    source = max(fleet.hosts, key=lambda h: len(fleet.instances_on([h])))
    guests = fleet.instances_on([source])
    # Each migration lasts a second or more at this scale.
    smallest = min(i.data.get("memory_mb") or 0 for i in guests)
    run = fleet.request("evacuate", hosts=[source], driver_config={
        "time_scale": 0.0001, "bandwidth_mb_s": smallest / 10_000})
    worker = threading.Thread(target=Worker(services).run_once)
    with watch_migrations() as migrations:
        worker.start()
        try:
            deadline = time.monotonic() + 60
            while not migrations.started:
                assert time.monotonic() < deadline, "no migration began"
                time.sleep(0.01)
            started = migrations.started[0]
            target_id = _host_id(fleet, started.target)
            services.ledger.update(fleet.meta, "host", target_id, {"active": False})
        finally:
            worker.join()
    done = service.get_run(services, run["id"], None)
    assert done["state"] == "succeeded", done.get("error")  # handed over, not failed
    reasons = {h["instance_id"]: h["reason"] for h in done["handovers"]}
    assert fleet.instances_on([target_id]) == []  # the ledger placed nothing there
    first = next(g.id for g in guests if g.name == started.instance)
    assert "is no longer active, and the instance was migrated to it" in reasons[first]
    # Every guest is handed over and stays on its source in the ledger.
    assert set(reasons) == {g.id for g in guests}
    assert {i.id for i in fleet.instances_on([source])} == {g.id for g in guests}


def _host_id(fleet: Fleet, name: str) -> int:
    from sqlalchemy import select

    from craton.projections.tables import LIVE

    t = LIVE.resources
    with fleet.svc.db.reading() as conn:
        found = conn.execute(select(t.c.id).where(
            t.c.kind == "host", t.c.name == name, t.c.valid_to.is_(None))).scalar()
    assert found is not None, f"no host named {name}"
    return int(found)


def test_instances_grouped_after_the_request_are_kept_apart(fleet):
    source = next(h for h in fleet.hosts if len(fleet.instances_on([h])) >= 2)
    one, other = fleet.instances_on([source])[:2]
    run = fleet.request("evacuate", hosts=[source], batch_size=8)
    group = fleet.svc.ledger.register(fleet.meta, "instance-group",
                                      {"name": "spread-late", "policy": "anti-affinity"})
    for instance in (one, other):
        fleet.svc.ledger.update(fleet.meta, "instance", instance.id,
                                {"group_ids": [group["id"]]})
    assert Worker(fleet.svc).run_once() == run["uuid"]
    done = service.get_run(fleet.svc, run["id"], None)
    assert done["state"] == "succeeded", done.get("error")
    moved = [i for i in (one, other) if _placed(fleet, i.id) != source]
    assert len(moved) == 1  # one went to the new host; the other stayed
    handed = {h["instance_id"]: h["reason"] for h in done["handovers"]}
    stayed = one if moved[0].id == other.id else other
    assert "anti-affinity group" in handed[stayed.id]


def _placed(fleet: Fleet, instance_id: int) -> int:
    from craton.projections.listing import get_row

    with fleet.svc.db.reading() as conn:
        return int(get_row(conn, "instance", instance_id, None, None).data["host_id"])
