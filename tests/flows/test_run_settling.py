"""What a run's end settles, settled once as the run ends: a workflow's ``settle``, and
the plan an execute-plan run carries out, however the run ends."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import Connection, select, update
from stevedore import ExtensionManager
from stevedore.extension import Extension

from craton.application import Ledger
from craton.bootstrap import Services
from craton.domain.meta import Meta
from craton.domain.runs import Run
from craton.flows import audit, catalog, service
from craton.flows.storage import QUEUE
from craton.flows.worker import Worker
from craton.planning.service import execute_plan
from craton.projections.audit import EventQuery, events, present_event
from craton.projections.tables import LIVE

from .conftest import Fleet, plan_of


@pytest.fixture
def fleet(services: Services) -> Fleet:
    """The demo fleet on an SQLite file and on PostgreSQL."""
    return Fleet(services)


def trail(fleet: Fleet, query: EventQuery) -> list[dict[str, Any]]:
    """The events ``query`` asks for (one page is all of them, in these tests)."""
    with fleet.svc.db.reading() as conn:
        rows, more = events(conn, query)
    assert not more
    return [present_event(r) for r in rows]


def next_event(fleet: Fleet, position: int) -> dict[str, Any] | None:
    """The event recorded next after ``position`` (None: nothing since)."""
    with fleet.svc.db.reading() as conn:
        rows, _ = events(conn, EventQuery(after=position, limit=1))
    return present_event(rows[0]) if rows else None


def plan_states(fleet: Fleet, plan_id: int) -> list[str | None]:
    """The state each of the plan's events gave it, oldest first (None: an event that
    left its state alone)."""
    return [(e["changes"].get("fields") or {}).get("state", [None, None])[1]
            for e in trail(fleet, EventQuery(resource_type="plan", resource_id=plan_id))]


def assert_settled_once_as_the_run_ended(fleet: Fleet, plan_id: int, run_uuid: str,
                                          state: str) -> None:
    """The plan went from computed to executing to ``state`` and no further, and the
    event that settled it is the next one after the run's end."""
    assert plan_states(fleet, plan_id) == ["computed", "executing", state]
    [ended] = trail(fleet, EventQuery(run_id=run_uuid, event_type="WorkflowRun.Finished"))
    settled = next_event(fleet, ended["position"])
    assert settled is not None, "nothing was recorded after the run's end"
    assert (settled["resource_type"], settled["resource_id"], settled["run_id"],
            settled["changes"]["fields"].get("state")) == (
        "plan", plan_id, run_uuid, ["executing", state])


def requeue(svc: Services, run_uuid: str) -> None:
    """Put an ended run back on the queue, as if its end had been recorded without it."""
    with svc.db.writing() as session:
        session.connection().execute(update(QUEUE).where(QUEUE.c.run_uuid == run_uuid)
                                     .values(state="requested"))


def test_a_finished_run_settles_its_plan_once_as_it_ends(fleet: Fleet) -> None:
    plan = plan_of(fleet)
    run = execute_plan(fleet.svc, fleet.meta, plan["id"])
    assert Worker(fleet.svc).run_once() == run["uuid"]
    assert service.get_run(fleet.svc, run["id"], None)["state"] == "succeeded"
    assert_settled_once_as_the_run_ended(fleet, plan["id"], run["uuid"], "executed")


def test_a_run_cancelled_before_a_worker_takes_it_settles_its_plan_once(
        fleet: Fleet) -> None:
    plan = plan_of(fleet)
    run = execute_plan(fleet.svc, fleet.meta, plan["id"])
    assert service.cancel_run(fleet.svc, fleet.meta, run["id"])["state"] == "cancelled"
    assert_settled_once_as_the_run_ended(fleet, plan["id"], run["uuid"], "failed")
    assert Worker(fleet.svc).run_once() is None
    assert plan_states(fleet, plan["id"]) == ["computed", "executing", "failed"]


def test_a_run_cancelled_as_a_worker_takes_it_settles_its_plan_once(fleet: Fleet) -> None:
    plan = plan_of(fleet)
    run = execute_plan(fleet.svc, fleet.meta, plan["id"])
    worker = Worker(fleet.svc)
    assert worker.claim() == run["uuid"]
    service.cancel_run(fleet.svc, fleet.meta, run["id"])
    worker.execute(run["uuid"])
    assert service.get_run(fleet.svc, run["id"], None)["state"] == "cancelled"
    assert_settled_once_as_the_run_ended(fleet, plan["id"], run["uuid"], "failed")


def test_a_run_whose_plan_went_stale_settles_it_failed_once(fleet: Fleet) -> None:
    """Failed wherever its instances are: here, where the plan would have put them."""
    first, second = plan_of(fleet), plan_of(fleet)
    assert first["fields"]["moves"] == second["fields"]["moves"]
    runs = [execute_plan(fleet.svc, fleet.meta, p["id"]) for p in (first, second)]
    worker = Worker(fleet.svc)
    assert [worker.run_once(), worker.run_once()] == [r["uuid"] for r in runs]
    assert service.get_run(fleet.svc, runs[1]["id"], None)["state"] == "failed"
    assert_settled_once_as_the_run_ended(fleet, first["id"], runs[0]["uuid"], "executed")
    assert_settled_once_as_the_run_ended(fleet, second["id"], runs[1]["uuid"], "failed")


def test_a_run_found_ended_but_still_queued_leaves_its_plan_as_settled(
        fleet: Fleet) -> None:
    plan = plan_of(fleet)
    run = execute_plan(fleet.svc, fleet.meta, plan["id"])
    worker = Worker(fleet.svc)
    assert worker.run_once() == run["uuid"]
    requeue(fleet.svc, run["uuid"])
    assert worker.run_once() is None
    assert_settled_once_as_the_run_ended(fleet, plan["id"], run["uuid"], "executed")
    with fleet.svc.db.reading() as conn:
        assert conn.execute(select(QUEUE.c.state).where(
            QUEUE.c.run_uuid == run["uuid"])).scalar() == "done"


class Settlements:
    """A workflow's ``settle`` that notes each call: the run, its state, and the
    state of its row as the transaction it is called in reads it."""

    def __init__(self, fails: bool = False) -> None:
        self.calls: list[tuple[str, str, str]] = []
        self.fails = fails

    def __call__(self, ledger: Ledger, conn: Connection, meta: Meta, run: Run) -> None:
        t = LIVE.resources
        stored = conn.execute(select(t.c.data).where(
            t.c.uuid == str(run.id), t.c.valid_to.is_(None))).scalar_one()
        self.calls.append((str(run.id), run.state, stored["state"]))
        assert meta.run_id == str(run.id)
        if self.fails:
            raise RuntimeError("cannot settle")


def settling_audits(settle: Settlements) -> None:
    """Install the audit workflow alone, its runs settled by ``settle``."""
    flow = replace(audit.WORKFLOW, settle=settle)
    catalog.use(ExtensionManager.make_test_instance(
        [Extension(flow.name, None, flow, flow)], namespace="craton.flows"))


def test_a_workflows_settle_is_called_once_as_each_run_ends(memory_services: Services
                                                             ) -> None:
    fleet = Fleet(memory_services)
    settle = Settlements()
    settling_audits(settle)
    done = fleet.run("audit", hosts=fleet.hosts[:1])
    waiting = fleet.request("audit", hosts=fleet.hosts[:1])
    assert settle.calls == [(done["uuid"], "succeeded", "succeeded")]
    service.cancel_run(fleet.svc, fleet.meta, waiting["id"])
    assert Worker(fleet.svc).run_once() is None
    assert settle.calls == [(done["uuid"], "succeeded", "succeeded"),
                            (waiting["uuid"], "cancelled", "cancelled")]


def test_a_run_found_ended_but_still_queued_is_settled_as_it_is_taken_off(
        memory_services: Services) -> None:
    fleet = Fleet(memory_services)
    settle = Settlements()
    settling_audits(settle)
    done = fleet.run("audit", hosts=fleet.hosts[:1])
    requeue(fleet.svc, done["uuid"])
    assert Worker(fleet.svc).run_once() is None
    assert settle.calls == [(done["uuid"], "succeeded", "succeeded")] * 2


def test_what_settle_raises_undoes_the_runs_end(memory_services: Services) -> None:
    fleet = Fleet(memory_services)
    settling_audits(Settlements(fails=True))
    run = fleet.request("audit", hosts=fleet.hosts[:1])
    with pytest.raises(RuntimeError, match="cannot settle"):
        service.cancel_run(fleet.svc, fleet.meta, run["id"])
    assert service.get_run(fleet.svc, run["id"], None)["state"] == "requested"
