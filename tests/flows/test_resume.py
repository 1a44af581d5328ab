"""A worker killed mid-run: another one resumes the run from TaskFlow's logbook."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest

from craton.flows import service
from craton.flows.worker import Worker
from craton.projections.audit import EventQuery, events
from tests.flows.conftest import WORKER, Fleet, spawn_worker


def _successes(fleet, run_uuid):
    with fleet.svc.db.reading() as conn:
        trail, _ = events(conn, EventQuery(run_id=run_uuid, limit=100_000))
    return trail, Counter(
        e.changes["detail"]["step"] for e in trail
        if e.event_type == "WorkflowRun.StepChanged" and e.changes["detail"]["state"] == "SUCCESS")


@pytest.mark.slow
def test_a_run_whose_worker_is_killed_is_resumed_and_completed(services, tmp_path):
    fleet = Fleet(services)
    sources = fleet.hosts[:2]
    instances = {i.id for i in fleet.instances_on(fleet.hosts)}
    moving = {i.id for i in fleet.instances_on(sources)}
    run = fleet.request("evacuate", hosts=sources, driver_config={
        "time_scale": 0.05, "build_seconds": 2, "verify_seconds": 0})
    proc = spawn_worker(services, "--once", "--lease", "2")
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            _, done = _successes(fleet, run["uuid"])
            if sum(1 for step in done if ".migrate-" in step and "attempts" not in step) >= 2:
                break
            assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
            time.sleep(0.05)
        else:
            pytest.fail("the worker never got to its migrations")
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(10)
    shown = service.get_run(services, run["id"], None)
    assert shown["state"] == "running"
    time.sleep(2.5)  # the dead worker's lease runs out
    assert Worker(services, lease_seconds=5).run_once() == run["uuid"]

    shown = service.get_run(services, run["id"], None)
    assert shown["state"] == "succeeded", shown.get("error")
    trail, done = _successes(fleet, run["uuid"])
    assert max(done.values()) == 1, [s for s, n in done.items() if n > 1]
    assert [e.event_type for e in trail].count("WorkflowRun.Resumed") == 1
    assert fleet.instances_on(sources) == []
    after = fleet.instances_on([*fleet.hosts, shown["steps"][0]["result"] or 0])
    now = [i.id for i in fleet.instances_on(
        fleet.hosts + [s["result"]["host_id"] for s in shown["steps"]
                       if s["name"].endswith(".build")])]
    assert sorted(now) == sorted(set(now)) and set(now) == instances
    assert after is not None and moving


@pytest.mark.slow
def test_steps_reach_a_worker_over_rabbitmq(services, tmp_path):
    pytest.importorskip("kombu")
    from tests.flows.rabbit import require_rabbitmq

    url = require_rabbitmq()
    fleet = Fleet(services)
    env = {**os.environ, "PYTHONPATH": os.getcwd(), "CRATON_TRANSPORT_URL": url}
    executors = [subprocess.Popen(
        [sys.executable, "-c", WORKER, "--database-url", services.db.url, "worker",
         "--executor"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        for _ in range(2)]
    try:
        run = fleet.request("evacuate", hosts=fleet.hosts[:2])
        conductor = subprocess.run(
            [sys.executable, "-c", WORKER, "--database-url", services.db.url,
             "worker", "--once"], env=env, capture_output=True, timeout=120)
        assert conductor.returncode == 0, conductor.stderr.decode()[-2000:]
    finally:
        for proc in executors:
            proc.terminate()
        for proc in executors:
            proc.wait(10)
    shown = service.get_run(services, run["id"], None)
    assert shown["state"] == "succeeded", shown.get("error")
    assert fleet.instances_on(fleet.hosts[:2]) == []
