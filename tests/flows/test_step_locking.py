"""A step acting through its driver keeps no other writer waiting."""

from __future__ import annotations

import threading
import time

from craton.domain.meta import system_meta
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
