"""Workers: claim requested (or abandoned) runs and execute them with TaskFlow.

A claim is a lease, taken in the serialised write transaction that records
the run's ``Started`` (or ``Resumed``) event. A worker renews its lease while
it works; when it dies, the lease expires and another worker resumes the run
from TaskFlow's logbook.

A worker that stalls past its lease (a stopped process, a database outage) may
wake to find the run taken over. Every write it makes for the run checks the
lease in its own transaction (see ``craton.flows.storage.check_lease``), so its
first write after the takeover is refused with ``LeaseLost``: the worker then
abandons its engine (reverting nothing) and leaves the run to its new holder.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
from typing import Any

import taskflow.engines
from sqlalchemy import and_, or_, select, update
from taskflow import exceptions as tf_exc
from taskflow import states
from taskflow.persistence import models

from craton.bootstrap import Services
from craton.domain.errors import DomainError
from craton.drivers.loader import UnknownDriver
from craton.flows import catalog
from craton.flows.inventory import world_rows
from craton.flows.recorder import StepRecorder
from craton.flows.runtime import Runtime, attach, detach
from craton.flows.storage import QUEUE, LeaseLost, LogbookBackend, logbook_backend
from craton.projections.timeline import iso

LOG = logging.getLogger(__name__)
# Where TaskFlow (and oslo, for the error TaskFlow raises while handling another)
# reports an engine stopped by a failed write: with a traceback each.
ENGINE_LOGGERS = ("taskflow.engines.action_engine.builder",
                  "taskflow.engines.action_engine.engine", "oslo_utils.excutils")


class _WithoutLostLeases(logging.Filter):
    """Drops the engine's reports of a write refused for a lost lease: expected, and
    said by the worker in one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], LeaseLost):
            return False
        return f"{LeaseLost.__module__}.{LeaseLost.__name__}:" not in record.getMessage()


_QUIET = _WithoutLostLeases()


def _quiet_lost_leases() -> None:
    for name in ENGINE_LOGGERS:
        logger = logging.getLogger(name)
        if _QUIET not in logger.filters:
            logger.addFilter(_QUIET)


class Worker:
    """Claims runs one at a time and executes them to the end."""

    def __init__(self, services: Services, name: str | None = None,
                 lease_seconds: float = 30.0, engine: str = "serial",
                 engine_options: dict[str, Any] | None = None):
        self.services = services
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self.lease_seconds = lease_seconds
        self.engine = engine
        self.engine_options = dict(engine_options or {})
        self.runtime = Runtime(services, worker=self.name)
        # Set when the worker is to stop (``serve``'s ``stop``): a run it is executing
        # is suspended after its current step and left for another worker to resume.
        self.stopping = threading.Event()
        _quiet_lost_leases()
        self.backend: LogbookBackend = logbook_backend(services.db)

    # -- claiming -------------------------------------------------------------
    def claim(self) -> str | None:
        """Take the oldest requested run, or one whose worker's lease ran out."""
        db, ledger = self.services.db, self.services.ledger
        while True:
            with db.writing() as session:
                conn, now = session.connection(), time.time()
                row = conn.execute(select(QUEUE).where(or_(
                    QUEUE.c.state == "requested",
                    and_(QUEUE.c.state == "running", QUEUE.c.expires_at < now),
                )).order_by(QUEUE.c.requested_at).limit(1)).first()
                if row is None:
                    return None
                run = self.runtime.load_run(row.run_uuid)
                if run.ended:
                    catalog.settle_run(ledger, conn, self.runtime.meta(row.run_uuid), run)
                    conn.execute(update(QUEUE).where(QUEUE.c.run_uuid == row.run_uuid)
                                 .values(state="done"))
                    continue
                conn.execute(update(QUEUE).where(QUEUE.c.run_uuid == row.run_uuid).values(
                    state="running", worker=self.name, expires_at=now + self.lease_seconds))
                run.start(self.runtime.meta(row.run_uuid).as_dict(), self.name,
                          iso(_utcnow()) or "")
                ledger.save(run)
                return str(row.run_uuid)

    def _renew(self, run_uuid: str) -> bool:
        with self.services.db.writing() as session:
            result = session.connection().execute(update(QUEUE).where(
                QUEUE.c.run_uuid == run_uuid, QUEUE.c.worker == self.name,
                QUEUE.c.state == "running",
            ).values(expires_at=time.time() + self.lease_seconds))
            return bool(result.rowcount)  # type: ignore[attr-defined]

    # -- executing ------------------------------------------------------------
    def run_once(self) -> str | None:
        """Claim one run and execute it; returns its uuid (None when there was none)."""
        run_uuid = self.claim()
        if run_uuid is not None:
            self.execute(run_uuid)
        return run_uuid

    def serve(self, stop: threading.Event, poll: float = 1.0) -> None:
        """Claim and execute runs until ``stop`` is set; a run under way when it is set
        stops after its current step (see ``stopping``)."""
        self.stopping = stop
        while not stop.is_set():
            try:
                if self.run_once() is None:
                    stop.wait(poll)
            except Exception:
                LOG.exception("worker %s: a run could not be executed", self.name)
                stop.wait(poll)

    def _flow_detail(self, run_uuid: str, backend: LogbookBackend) -> models.FlowDetail:
        """The run's logbook entry; on first execution, its world and flow are made."""
        with contextlib.closing(backend.get_connection()) as conn:
            try:
                return conn.get_logbook(run_uuid).find(run_uuid)
            except tf_exc.NotFound:
                pass
            run = self.runtime.load_run(run_uuid)
            flow = catalog.workflow(run.fields["workflow"])
            targets, params = run.fields["targets"][0], run.fields["parameters"]
            with self.services.db.reading() as read:
                hosts, instances = world_rows(read, flow.world(targets))
            self.runtime.create_world(run_uuid, params.get("driver", "simulator"),
                                      params.get("driver_config") or {}, hosts, instances)
            book = models.LogBook(f"run-{run_uuid}", uuid=run_uuid)
            detail = models.FlowDetail(f"run-{run_uuid}", uuid=run_uuid)
            taskflow.engines.save_factory_details(detail, flow.factory, [run_uuid, targets], {})
            book.add(detail)
            conn.save_logbook(book)
            return detail

    def execute(self, run_uuid: str) -> None:
        """Run (or resume) a claimed run to its end and record how it ended."""
        attach(run_uuid, self.runtime)
        backend = self.backend.fenced(run_uuid, self.name)  # its logbook, fenced too
        stop = threading.Event()
        lost = threading.Event()
        engine: Any = None

        def heartbeat() -> None:
            while not stop.wait(self.lease_seconds / 3):
                try:
                    if not self._renew(run_uuid):
                        lost.set()
                        if engine is not None:
                            with contextlib.suppress(LeaseLost):  # (as it will be)
                                engine.suspend()
                        return
                except Exception:
                    LOG.exception("could not renew the lease on run %s", run_uuid)

        def on_stopping() -> None:
            """Suspend the engine once the worker is asked to stop: the step under way
            finishes, no other starts, and the run's lease is let go for another."""
            while not stop.is_set():
                if not self.stopping.wait(0.25):
                    continue
                if engine is None:  # (still loading the run: suspended once it can be)
                    time.sleep(0.05)
                    continue
                LOG.warning("worker %s is stopping: run %s stops after its current step, "
                            "for another worker to resume", self.name, run_uuid)
                with contextlib.suppress(Exception):  # (an engine already ending)
                    engine.suspend()
                return

        beat = threading.Thread(target=heartbeat, daemon=True, name=f"lease-{run_uuid[:8]}")
        beat.start()
        watch = threading.Thread(target=on_stopping, daemon=True,
                                 name=f"stopping-{run_uuid[:8]}")
        watch.start()
        error: str | None = None
        try:
            detail = self._flow_detail(run_uuid, backend)
            engine = taskflow.engines.load_from_detail(
                detail, backend=backend, engine=self.engine, **self.engine_options)
            recorder = StepRecorder(self.runtime, run_uuid, engine)
            engine.compile()
            engine.prepare()
            recorder.reconcile()
            recorder.attach()
            try:
                engine.run()
            except Exception as exc:
                error = _first_line(exc)
            finally:
                recorder.detach()
            flow_state = engine.storage.get_flow_state()
        except LeaseLost:
            lost.set()
            error, flow_state = None, states.FAILURE
        except (DomainError, UnknownDriver) as exc:  # the run's own fault: said in one line
            LOG.error("run %s could not be executed: %s", run_uuid, _first_line(exc))
            error, flow_state = _first_line(exc), states.FAILURE
        except Exception as exc:
            LOG.exception("run %s could not be executed", run_uuid)
            error, flow_state = _first_line(exc), states.FAILURE
        finally:
            stop.set()
            beat.join()
            watch.join()
        try:
            if not lost.is_set():
                # Fenced as every write for the run is: a worker whose engine stopped on
                # a refused write learns here, if not before, that the run is not its.
                self._finish(run_uuid, flow_state, error)
        except LeaseLost:
            lost.set()
        finally:
            detach(run_uuid, self.runtime)
        if lost.is_set():
            LOG.warning("worker %s lost its lease on run %s to another worker, which "
                        "has the run now: this worker stopped working on it",
                        self.name, run_uuid)

    def _hand_over_left_behind(self, conn: Any, run_uuid: str, run: Any) -> None:
        """What a cancel stopped part way (a batch's quiesced hosts, a host built but
        not verified) is handed to a person, not undone: a cancel asks the run to stop
        acting on the fleet."""
        flow = catalog.workflow(run.fields["workflow"])
        meta = self.runtime.meta(run_uuid).as_dict()
        for step, resource_id, reason in flow.left_behind(conn, run,
                                                          run.fields["targets"][0]):
            run.hand_over(meta, step, resource_id, reason)

    def _finish(self, run_uuid: str, flow_state: str, error: str | None) -> None:
        with self.runtime.writing(run_uuid, self.name) as conn:  # LeaseLost: not ours
            run = self.runtime.load_run(run_uuid)
            if flow_state == states.SUSPENDED and not run.fields.get("cancel_requested"):
                # Suspended without a cancel: let the lease lapse so the run resumes.
                conn.execute(update(QUEUE).where(QUEUE.c.run_uuid == run_uuid)
                             .values(expires_at=0.0))
                return
            cancelled = bool(run.fields.get("cancel_requested")) \
                and flow_state != states.SUCCESS
            if cancelled:
                self._hand_over_left_behind(conn, run_uuid, run)
            summary = run.summary()
            state = "cancelled" if cancelled else _ended(flow_state, error, summary)
            changes = {"state": state, "finished_at": iso(_utcnow()), **summary}
            unrecovered = [f for f in summary["failed_steps"] if not f["recovered"]]
            if unrecovered:
                first = unrecovered[0]
                changes["error"] = f"step {first['step']} failed: {first['error']}"[:500]
            elif error and state == "failed":
                changes["error"] = error
            run.finish(self.runtime.meta(run_uuid).as_dict(), changes)
            self.services.ledger.save(run)
            catalog.settle_run(self.services.ledger, conn, self.runtime.meta(run_uuid), run)
            conn.execute(update(QUEUE).where(QUEUE.c.run_uuid == run_uuid)
                         .values(state="done"))


def _ended(flow_state: str, error: str | None, summary: dict[str, Any]) -> str:
    """How a run that was not cancelled ended: failed or succeeded."""
    if (error or flow_state != states.SUCCESS
            or any(not f["recovered"] for f in summary["failed_steps"])):
        return "failed"
    return "succeeded"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__)[:500]


def _utcnow() -> Any:
    from craton.domain import clock

    return clock.now()


class WorkerThread(threading.Thread):
    """A worker in a thread of the serving process; ``stop()`` ends it."""

    def __init__(self, worker: Worker, poll: float = 1.0):
        super().__init__(daemon=True, name="craton-worker")
        self.worker, self.poll = worker, poll
        self._stop_event = threading.Event()

    def run(self) -> None:
        self.worker.serve(self._stop_event, self.poll)

    def stop(self, timeout: float | None = 30.0) -> None:
        self._stop_event.set()
        self.join(timeout)


def start_inprocess_worker(services: Services, poll: float = 1.0) -> WorkerThread:
    """Run workflow runs in a thread of this process (the embedded, one-machine setup)."""
    thread = WorkerThread(Worker(services), poll)
    thread.start()
    return thread
