"""A worker asked to stop leaves its run at a step boundary, for another to resume."""

from __future__ import annotations

import threading
import time
from collections import Counter

from sqlalchemy import select

from craton.flows import service
from craton.flows.storage import QUEUE
from craton.flows.worker import Worker
from tests.flows.conftest import Fleet


def _state_of(services, run_id: int, suffix: str) -> str | None:
    steps = service.get_run(services, run_id, None)["steps"]
    found = [s for s in steps if s["name"].endswith(suffix)]
    return found[0]["transitions"][-1]["state"] if found else None


def _started(services, run_uuid: str) -> Counter[str]:
    """How many times each step began (went RUNNING)."""
    return Counter(e["changes"]["detail"]["step"] for e in service.run_events(services, run_uuid)
                   if e["event_type"] == "WorkflowRun.StepChanged"
                   and e["changes"]["detail"]["state"] == "RUNNING")


def test_a_stopping_worker_finishes_its_step_and_leaves_the_run_to_another(services):
    fleet = Fleet(services)
    run = fleet.request("evacuate", hosts=fleet.hosts[:1],
                        driver_config={"time_scale": 0.005})  # a 3 s build
    stop = threading.Event()
    first = Worker(services, name="first")
    serving = threading.Thread(target=first.serve, args=(stop, 0.1))
    serving.start()
    try:
        deadline = time.monotonic() + 60
        while _state_of(services, run["id"], ".build") != "RUNNING":
            assert time.monotonic() < deadline, "the build step never started"
            time.sleep(0.02)
        stop.set()  # as SIGTERM does
        serving.join(60)
        assert not serving.is_alive(), "the worker did not stop"
    finally:
        stop.set()
        serving.join()
    left = service.get_run(services, run["id"], None)
    assert left["state"] == "running"  # not ended: left for another worker
    assert _state_of(services, run["id"], ".build") == "SUCCESS"  # its step finished
    assert _state_of(services, run["id"], ".verify") is None  # and no other began
    with services.db.reading() as conn:
        lease = conn.execute(select(QUEUE.c.expires_at).where(
            QUEUE.c.run_uuid == run["uuid"])).scalar()
    assert lease is not None and lease <= time.time()  # let go at once, not left to lapse
    assert Worker(services, name="second").run_once() == run["uuid"]
    done = service.get_run(services, run["id"], None)
    assert done["state"] == "succeeded", done.get("error")
    assert all(n == 1 for n in _started(services, run["uuid"]).values())  # none ran twice
