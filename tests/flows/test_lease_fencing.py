"""A worker that lost its lease on a run writes nothing more for it, and stops."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections import Counter
from typing import Any

import pytest
from sqlalchemy import func, select, update
from taskflow import states

from craton.drivers.simulator import SimulatorDriver, watch_migrations
from craton.flows import service
from craton.flows.storage import QUEUE, LeaseLost
from craton.flows.worker import Worker
from craton.projections.tables import LIVE
from tests.flows.conftest import Fleet, spawn_worker


def _take_over(services, takeover: Worker, run_uuid: str) -> None:
    """Let the run's lease run out and have ``takeover`` claim the run, in one write (so
    the old holder's heartbeat cannot renew the lease in between)."""
    with services.db.writing() as session:
        session.connection().execute(update(QUEUE).where(QUEUE.c.run_uuid == run_uuid)
                                     .values(expires_at=0.0))
        assert takeover.claim() == run_uuid


def _written(services, run_uuid: str) -> tuple[int, list[tuple[int, str]]]:
    """How many events the ledger holds, and those the run caused (its own and the
    inventory's), by position and type."""
    with services.db.reading() as conn:
        total = conn.execute(select(func.count()).select_from(LIVE.events)).scalar()
    trail = service.run_events(services, run_uuid)
    return total, [(e["position"], e["event_type"]) for e in trail]


def _queue_row(services, run_uuid: str) -> Any:
    with services.db.reading() as conn:
        return conn.execute(select(QUEUE).where(QUEUE.c.run_uuid == run_uuid)).one()


def _logbook(worker: Worker, run_uuid: str) -> dict[str, tuple[str, str]]:
    """Each step's state and intention in the run's logbook."""
    with contextlib.closing(worker.backend.get_connection()) as conn:
        return {a.name: (a.state, a.intention) for a in conn.get_atoms_for_flow(run_uuid)}


def _successes(services, run_uuid: str) -> Counter[str]:
    return Counter(e["changes"]["detail"]["step"] for e in service.run_events(services, run_uuid)
                   if e["event_type"] == "WorkflowRun.StepChanged"
                   and e["changes"]["detail"]["state"] == "SUCCESS")


def _state_of(services, run_id: int, suffix: str) -> str | None:
    steps = service.get_run(services, run_id, None)["steps"]
    found = [s for s in steps if s["name"].endswith(suffix)]
    return found[0]["transitions"][-1]["state"] if found else None


@pytest.fixture
def stalled_build(monkeypatch):
    """The first host build stalls (as a stopped process would) until ``resume`` is set;
    ``building`` is set once it has begun."""
    building, resume = threading.Event(), threading.Event()
    original = SimulatorDriver.build_host
    first = [True]

    def build_host(self: SimulatorDriver, *args: Any, **kwargs: Any) -> Any:
        if first[0]:
            first[0] = False
            building.set()
            assert resume.wait(60), "the stalled build was never resumed"
        return original(self, *args, **kwargs)

    monkeypatch.setattr(SimulatorDriver, "build_host", build_host)
    yield building, resume
    resume.set()


def test_a_worker_that_wakes_after_a_takeover_writes_nothing_for_the_run(
        services, stalled_build, caplog):
    building, resume = stalled_build
    fleet = Fleet(services)
    run = fleet.request("evacuate", hosts=fleet.hosts[:1])
    stale = Worker(services, name="worker-a", lease_seconds=60)
    takeover = Worker(services, name="worker-b", lease_seconds=60)
    thread = threading.Thread(target=stale.run_once)
    thread.start()
    try:
        assert building.wait(60), "the build step never began"
        _take_over(services, takeover, run["uuid"])
        written, logbook = _written(services, run["uuid"]), _logbook(stale, run["uuid"])
    finally:
        resume.set()
        thread.join(60)
    assert not thread.is_alive()

    # The stale worker recorded neither its build nor its failure, reverted nothing, and
    # did not end the run: not in the ledger, nor in the logbook the run resumes from.
    assert _written(services, run["uuid"]) == written
    assert _logbook(stale, run["uuid"]) == logbook
    row = _queue_row(services, run["uuid"])
    assert (row.state, row.worker) == ("running", "worker-b")
    assert service.get_run(services, run["id"], None)["state"] == "running"
    lost = [r for r in caplog.records
            if r.name == "craton.flows.worker" and "lost its lease" in r.getMessage()]
    assert len(lost) == 1 and run["uuid"] in lost[0].getMessage()

    takeover.execute(run["uuid"])
    shown = service.get_run(services, run["id"], None)
    assert shown["state"] == "succeeded", shown.get("error")
    done = _successes(services, run["uuid"])
    assert done["batch-1.build"] == 1 and max(done.values()) == 1
    assert fleet.instances_on(fleet.hosts[:1]) == []


def test_a_worker_that_lost_the_run_during_a_migration_stops_there(services):
    fleet = Fleet(services)
    source = fleet.hosts[0]
    guest = max(fleet.instances_on([source]),
                key=lambda i: (i.data.get("memory_mb") or 0, i.id))
    run = fleet.request("evacuate", hosts=[source], driver_config={
        "time_scale": 0.0001, "bandwidth_mb_s": 1.0})  # a copy of a second or more
    stale = Worker(services, name="worker-a", lease_seconds=60)
    takeover = Worker(services, name="worker-b", lease_seconds=60)
    thread = threading.Thread(target=stale.run_once)
    with watch_migrations() as migrations:
        thread.start()
        try:
            assert migrations.wait_for(guest.name, timeout=60), "its migration never began"
            _take_over(services, takeover, run["uuid"])
            written = _written(services, run["uuid"])
        finally:
            thread.join(60)
    assert _written(services, run["uuid"]) == written
    assert _state_of(services, run["id"], f".migrate-{guest.id}") == "RUNNING"
    assert service.get_run(services, run["id"], None)["state"] == "running"

    takeover.execute(run["uuid"])
    shown = service.get_run(services, run["id"], None)
    assert shown["state"] == "succeeded", shown.get("error")
    assert max(_successes(services, run["uuid"]).values()) == 1
    assert fleet.instances_on([source]) == []


def test_every_kind_of_write_for_a_run_taken_over_is_refused(services):
    fleet = Fleet(services)
    run = fleet.request("evacuate", hosts=fleet.hosts[:1])
    run_uuid = run["uuid"]
    stale = Worker(services, name="worker-a")
    takeover = Worker(services, name="worker-b")
    assert stale.claim() == run_uuid
    detail = stale._flow_detail(run_uuid, stale.backend)  # its world and logbook
    _take_over(services, takeover, run_uuid)
    written = _written(services, run_uuid)
    meta = stale.runtime.meta(run_uuid).as_dict()
    host = fleet.hosts[0]

    with pytest.raises(LeaseLost):  # a step's transition
        stale.runtime.record(run_uuid, lambda r: r.change_step(
            meta, "batch-1.check", states.RUNNING))
    with pytest.raises(LeaseLost):  # a step's inventory change
        with stale.runtime.step(run_uuid, "batch-1.quiesce") as step:
            step.ledger.update(step.meta, "host", host, {"schedulable": False})
    with pytest.raises(LeaseLost):  # a step's own record (a hand-over)
        with stale.runtime.step(run_uuid, "batch-1.drain") as step:
            step.hand_over(host, "stays quiesced")
    with pytest.raises(LeaseLost):  # the run's end
        stale._finish(run_uuid, states.SUCCESS, None)
    with pytest.raises(LeaseLost):  # the logbook the run resumes from
        with contextlib.closing(stale.backend.fenced(run_uuid, stale.name)
                                .get_connection()) as conn:
            conn.update_flow_details(detail)
    assert _written(services, run_uuid) == written
    assert _queue_row(services, run_uuid).worker == "worker-b"

    # The worker holding the run writes as before.
    takeover.runtime.record(run_uuid, lambda r: r.change_step(
        meta, "batch-1.check", states.RUNNING))
    assert len(_written(services, run_uuid)[1]) == len(written[1]) + 1


@pytest.mark.slow
def test_a_stopped_worker_process_resumed_after_a_takeover_leaves_the_run(services):
    """The reported case: worker A stopped (SIGSTOP) during a build, worker B resumes
    the run once A's lease has run out, and A is continued while B works."""
    fleet = Fleet(services)
    run = fleet.request("evacuate", hosts=fleet.hosts[:1],
                        driver_config={"time_scale": 0.005})  # a 3 s build
    proc = spawn_worker(services, "--once", "--lease", "2")
    try:
        deadline = time.monotonic() + 60
        while _state_of(services, run["id"], ".build") != "RUNNING":
            assert time.monotonic() < deadline, "the build step never began"
            assert proc.poll() is None, proc.stderr.read().decode()[-2000:]  # type: ignore[union-attr]
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGSTOP)
        time.sleep(2.5)  # its lease runs out
        takeover = Worker(services, name="worker-b", lease_seconds=30)
        assert takeover.claim() == run["uuid"]
        resumed = threading.Timer(0.5, os.kill, (proc.pid, signal.SIGCONT))
        resumed.start()  # while worker B builds its host
        takeover.execute(run["uuid"])
        resumed.join()
        _, err = proc.communicate(timeout=60)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, signal.SIGCONT)
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    assert proc.returncode == 0, err.decode()[-2000:]
    assert err.count(b"lost its lease") == 1 and b"Traceback" not in err, \
        err.decode()[-2000:]
    shown = service.get_run(services, run["id"], None)
    assert shown["state"] == "succeeded", shown.get("error")
    done = _successes(services, run["uuid"])
    assert done["batch-1.build"] == 1 and max(done.values()) == 1
    types = [e["event_type"] for e in service.run_events(services, run["uuid"])]
    assert types.count("WorkflowRun.Resumed") == 1
