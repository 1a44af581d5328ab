"""A step acting through its driver keeps no other writer waiting."""

from __future__ import annotations

import threading
import time

from craton.domain.meta import system_meta
from craton.drivers.simulator import watch_migrations
from craton.flows import service
from craton.flows.worker import Worker
from tests.flows.conftest import Fleet


def _state_of(services, run_id: int, suffix: str) -> str | None:
    steps = service.get_run(services, run_id, None)["steps"]
    found = [s for s in steps if s["name"].endswith(suffix)]
    return found[0]["transitions"][-1]["state"] if found else None


def test_a_change_goes_through_while_a_host_is_being_built(services):
    fleet = Fleet(services)
    run = fleet.request("evacuate", hosts=fleet.hosts[:1],
                        driver_config={"time_scale": 0.005})  # a 3 s build
    worker = threading.Thread(target=Worker(services).run_once)
    worker.start()
    try:
        deadline = time.monotonic() + 60
        while _state_of(services, run["id"], ".build") != "RUNNING":
            assert time.monotonic() < deadline, "the build step never started"
            time.sleep(0.02)
        services.ledger.register(system_meta(), "project", {"name": "meanwhile"})
        assert _state_of(services, run["id"], ".build") == "RUNNING"  # still building
    finally:
        worker.join()
    assert service.get_run(services, run["id"], None)["state"] == "succeeded"


def _migrating(services, run_id: int, instance_id: int) -> bool:
    """Whether that instance's migration step is running."""
    return any(s["name"].endswith(f".migrate-{instance_id}")
               and s["transitions"][-1]["state"] == "RUNNING"
               for s in service.get_run(services, run_id, None)["steps"])


def test_an_instance_the_ledger_moves_while_it_migrates_is_handed_over(services):
    fleet = Fleet(services)
    # The largest instance: its copy lasts 1.6 s at this scale (a ledger write takes
    # milliseconds), the rest less.
    largest = max((i for h in fleet.hosts for i in fleet.instances_on([h])),
                  key=lambda i: (i.data.get("memory_mb") or 0, i.id))
    source = largest.host_id
    elsewhere = next(h for h in fleet.hosts if h != source)
    run = fleet.request("evacuate", hosts=[source], driver_config={
        "time_scale": 0.0001, "bandwidth_mb_s": 1.0})
    worker = threading.Thread(target=Worker(services).run_once)
    with watch_migrations() as migrations:
        worker.start()
        try:
            # The simulator begins the copy only after the step has read the instance
            # (moved before that read, the instance is merely skipped, as no longer on
            # its source), so this move lands in the middle of the migration.
            assert migrations.wait_for(largest.name, timeout=60), "its migration never began"
            services.ledger.place_instance(fleet.meta, largest.id, elsewhere)  # no wait
            assert _migrating(services, run["id"], largest.id)  # still migrating
        finally:
            worker.join()
    handovers = service.get_run(services, run["id"], None)["handovers"]
    assert [h["instance_id"] for h in handovers if "while it was migrated" in h["reason"]
            ] == [largest.id]
    assert largest.id in [i.id for i in fleet.instances_on([elsewhere])]
