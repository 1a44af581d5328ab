"""What a step acts through: the ledger, the run's metadata, and the run's driver.

A step's inventory changes, its own completion event and the driver's saved
world commit in one write transaction, so a step is never recorded done
without its effects, nor its effects stored without the step.

Every write for a run made here (a step's, a change of the run aggregate, the
world) begins with a check that the worker still holds the run's lease
(``Runtime.writing``): a worker whose lease another worker has taken over
gets ``LeaseLost`` instead of writing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, func, insert, select, update

from craton.bootstrap import Services, bootstrap
from craton.domain.meta import Meta
from craton.domain.runs import Run
from craton.drivers.base import FleetDriver
from craton.drivers.loader import load_driver
from craton.drivers.simulator import SimulatorDriver
from craton.flows.storage import QUEUE, WORLDS, LeaseLost, check_lease, ensure_schema
from craton.projections.tables import LIVE


@dataclass
class Step:
    """One step in progress: its name, the run, and everything it may touch.

    The step's write transaction (and with it the ledger's write lock) begins when
    the step first reads or writes through ``conn``, ``ledger`` or ``record``: what
    it does through its driver before then (building a host, say, which may take
    minutes on a real cloud) keeps no other writer waiting. Beginning it checks
    that the step's worker still holds the run (else ``LeaseLost``): whatever the
    step writes is fenced by the lease.
    """

    name: str
    run_uuid: str
    runtime: Runtime
    driver: FleetDriver
    write: LazyWrite

    def begin(self) -> Connection:
        """The step's write transaction, begun (the ledger's write lock taken, the
        run's lease checked) once."""
        return self.write.begin()

    @property
    def conn(self) -> Connection:
        return self.begin()

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        """What to read through: the step's write transaction once begun, else a read
        snapshot of its own, which takes no lock (a step reads, acts through its
        driver, then checks again under the lock what its write depends on)."""
        if self.write.conn is not None:
            yield self.write.conn
            return
        with self.runtime.services.db.reading() as conn:
            yield conn

    @property
    def ledger(self) -> Any:
        self.begin()
        return self.runtime.services.ledger

    @property
    def meta(self) -> Meta:
        return self.runtime.meta(self.run_uuid)

    def run(self) -> Run:
        return self.runtime.load_run(self.run_uuid)

    def record(self, act: Callable[[Run], Any]) -> None:
        """Change the run aggregate inside this step's transaction."""
        self.begin()
        run = self.run()
        act(run)
        self.ledger.save(run)

    def hand_over(self, instance_id: int, reason: str) -> None:
        self.record(lambda r: r.hand_over(self.meta.as_dict(), self.name, instance_id, reason))

    def skip(self, instance_id: int, reason: str) -> None:
        self.record(lambda r: r.skip(self.meta.as_dict(), self.name, instance_id, reason))


class LazyWrite:
    """A step's write transaction, begun at its first use and ended by ``Runtime.step``."""

    def __init__(self, runtime: Runtime, run_uuid: str, holder: str | None):
        self.runtime, self.run_uuid, self.holder = runtime, run_uuid, holder
        self.transaction = ExitStack()
        self.conn: Connection | None = None

    def begin(self) -> Connection:
        if self.conn is None:
            self.conn = self.transaction.enter_context(
                self.runtime.writing(self.run_uuid, self.holder))
        return self.conn


def _roll_back(transaction: ExitStack, exc: BaseException) -> BaseException:
    """End a failed step's write, if it was begun; what to raise: the write's own
    account of the failure where it gives one (a broken key as ConcurrentWrite), else
    the failure itself."""
    try:
        transaction.__exit__(type(exc), exc, exc.__traceback__)
    except BaseException as raised:
        return raised
    return exc


class Runtime:
    """The services of one process and the drivers of the runs it works on.

    ``worker`` is the worker whose lease fences the writes made here; without one
    (the executor processes of remote workers), a step's writes are fenced by the
    lease of whichever worker held the run when the step began.
    """

    def __init__(self, services: Services, worker: str | None = None):
        self.services = services
        self.worker = worker
        self._drivers: dict[str, tuple[int, FleetDriver]] = {}
        self._metas: dict[str, Meta] = {}
        self._runs: dict[str, Run] = {}
        self._lock = threading.RLock()
        ensure_schema(services.db)

    # -- the lease ------------------------------------------------------------
    @contextmanager
    def writing(self, run_uuid: str, holder: str | None) -> Iterator[Connection]:
        """A write transaction for the run, refused (LeaseLost) unless ``holder`` still
        holds the run's lease; None: not fenced (a run no worker holds)."""
        with self.services.db.writing() as session:
            conn = session.connection()
            if holder is not None:
                check_lease(conn, run_uuid, holder)
            yield conn

    def _holder(self, run_uuid: str) -> str | None:
        """Whose lease fences a step of the run beginning now: this runtime's worker,
        else whoever holds the run, as the primary database says (a replica may lag
        behind a claim)."""
        if self.worker is not None:
            return self.worker
        db = self.services.db
        query = select(QUEUE.c.worker).where(QUEUE.c.run_uuid == run_uuid,
                                             QUEUE.c.state == "running")
        if not db.is_postgres:  # one file, no replica: a snapshot takes no lock
            with db.reading() as conn:
                return conn.execute(query).scalar()
        with db.engine.connect() as conn:
            return conn.execute(query).scalar()

    # -- the run --------------------------------------------------------------
    def load_run(self, run_uuid: str) -> Run:
        """The run aggregate; replayed only when another version was stored meanwhile."""
        ledger = self.services.ledger
        with self.services.db.writing() as session:  # read through the write session
            table = ledger.recorder.events_record_cls.__table__  # type: ignore[attr-defined]
            stored = session.connection().execute(
                select(func.max(table.c.originator_version))
                .where(table.c.originator_id == UUID(run_uuid))).scalar()
            cached = self._runs.get(run_uuid)
            if cached is not None and cached.version == stored:
                return cached
            run: Any = ledger.repository.get(UUID(run_uuid))
        assert isinstance(run, Run)
        self._runs[run_uuid] = run
        return run

    def meta(self, run_uuid: str) -> Meta:
        """Who asked for the run and why: carried by every event the run causes."""
        with self._lock:
            if run_uuid not in self._metas:
                e = LIVE.events
                with self.services.db.reading() as conn:
                    row = conn.execute(select(e).where(
                        e.c.uuid == run_uuid, e.c.version == 1)).one()
                self._metas[run_uuid] = Meta(
                    actor_id=row.actor_id, actor_name=row.actor_name, source="flow",
                    project_id=row.project_id, request_id=row.request_id or "",
                    reason=row.reason, run_id=run_uuid)
            return self._metas[run_uuid]

    def record(self, run_uuid: str, act: Callable[[Run], Any]) -> Any:
        """Change the run aggregate in a transaction of its own."""
        try:
            with self.writing(run_uuid, self.worker):
                run = self.load_run(run_uuid)
                out = act(run)
                self.services.ledger.save(run)
                return out
        except BaseException:
            self._runs.pop(run_uuid, None)
            raise

    # -- the driver -----------------------------------------------------------
    def create_world(self, run_uuid: str, name: str, config: dict[str, Any],
                     hosts: list[dict[str, Any]], instances: list[dict[str, Any]]) -> None:
        """Build the run's driver; a simulator's world is saved so a resumed run finds it."""
        driver: FleetDriver
        if name == "simulator":
            driver = SimulatorDriver.from_inventory(hosts, instances, config)
        else:
            driver = load_driver(name, config=config)
        with self.writing(run_uuid, self.worker) as conn:
            if conn.execute(select(WORLDS.c.version).where(
                    WORLDS.c.run_uuid == run_uuid)).first() is None:
                snapshot = driver.snapshot() if isinstance(driver, SimulatorDriver) else {
                    "driver": name, "config": config}
                conn.execute(insert(WORLDS).values(run_uuid=run_uuid, version=1,
                                                   snapshot=snapshot))
                self._drivers[run_uuid] = (1, driver)

    def _driver(self, conn: Connection, run_uuid: str) -> tuple[int, FleetDriver]:
        row = conn.execute(select(WORLDS).where(WORLDS.c.run_uuid == run_uuid)).one()
        cached = self._drivers.get(run_uuid)
        if cached is not None and cached[0] == row.version:
            return cached
        data = dict(row.snapshot)
        driver: FleetDriver
        if "driver" in data:
            driver = cached[1] if cached else load_driver(data["driver"], config=data["config"])
        else:
            driver = SimulatorDriver.from_snapshot(data)
        self._drivers[run_uuid] = (row.version, driver)
        return row.version, driver

    def _save_world(self, conn: Callable[[], Connection], run_uuid: str, version: int,
                    driver: FleetDriver) -> None:
        """Keep the simulator's world (the only driver with one here); ``conn`` gives
        the connection, so a step with another driver takes no write for it."""
        if isinstance(driver, SimulatorDriver):
            conn().execute(update(WORLDS).where(WORLDS.c.run_uuid == run_uuid).values(
                version=version + 1, snapshot=driver.snapshot()))
            self._drivers[run_uuid] = (version + 1, driver)

    @contextmanager
    def step(self, run_uuid: str, name: str) -> Iterator[Step]:
        """Act on the fleet and the ledger in one write transaction (begun at the step's
        first read or write through it: see ``Step``), serialised per process."""
        with self._lock:
            holder = self._holder(run_uuid)
            write = LazyWrite(self, run_uuid, holder)
            try:
                with self.services.db.reading() as conn:  # (one worker holds the lease)
                    version, driver = self._driver(conn, run_uuid)
                yield Step(name, run_uuid, self, driver, write)
                self._save_world(write.begin, run_uuid, version, driver)
                write.transaction.close()  # commits the step's write
            except BaseException as exc:
                error = _roll_back(write.transaction, exc)
                self._runs.pop(run_uuid, None)
                # What the driver did happened, even if the step failed: keep it (unless
                # the run is another worker's now, whose world it is).
                cached = self._drivers.get(run_uuid)
                if cached is not None and isinstance(cached[1], SimulatorDriver) \
                        and not isinstance(error, LeaseLost):
                    with self.writing(run_uuid, holder) as conn:
                        self._save_world(lambda: conn, run_uuid, *cached)
                if error is exc:
                    raise
                raise error from exc

    def forget(self, run_uuid: str) -> None:
        with self._lock:
            self._drivers.pop(run_uuid, None)
            self._metas.pop(run_uuid, None)
            self._runs.pop(run_uuid, None)


_runtimes: dict[str, Runtime] = {}
_default: list[Runtime] = []
_registry_lock = threading.Lock()


def attach(run_uuid: str, runtime: Runtime) -> None:
    """Route the steps of one run to a runtime (the worker executing it)."""
    with _registry_lock:
        _runtimes[run_uuid] = runtime


def detach(run_uuid: str, runtime: Runtime | None = None) -> None:
    """Stop routing the run's steps to ``runtime`` (None: to whichever runtime has it);
    a runtime another worker of this process attached since keeps the run."""
    with _registry_lock:
        if runtime is None or _runtimes.get(run_uuid) is runtime:
            runtime = _runtimes.pop(run_uuid, None)
    if runtime is not None:
        runtime.forget(run_uuid)


def install(runtime: Runtime) -> None:
    """Make a runtime the process default (executor processes of remote workers)."""
    with _registry_lock:
        _default[:] = [runtime]


def runtime_for(run_uuid: str) -> Runtime:
    with _registry_lock:
        if run_uuid in _runtimes:
            return _runtimes[run_uuid]
        if not _default:
            _default.append(Runtime(bootstrap()))
        return _default[0]
