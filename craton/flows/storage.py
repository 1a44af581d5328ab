"""Where runs keep their machinery: leases, simulated worlds, and TaskFlow's logbooks.

TaskFlow's logbook tables live in Craton's database under a ``taskflow_``
prefix, created from their table definitions (no alembic, so no
``alembic_version`` table beside ours).

A run's lease fences what its worker writes: every write a worker makes for a
run (its steps' events and inventory changes, the step transitions, the run's
end, the run's logbook in TaskFlow's tables) first checks, in the write's own
transaction, that the worker still holds the run (``check_lease``). A worker
that stalled past its lease and woke after another took the run over has its
writes refused with ``LeaseLost``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    Enum,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    inspect,
    select,
)
from sqlalchemy import Connection as SQLConnection
from taskflow.persistence.backends import impl_sqlalchemy
from taskflow.persistence.backends.sqlalchemy import tables as tf_tables

from craton.db import Database

PREFIX = "taskflow_"
METADATA = MetaData()

QUEUE = Table(  # runs waiting for a worker, and the lease of the worker running each
    "flow_queue", METADATA,
    Column("run_uuid", String(36), primary_key=True),
    Column("requested_at", Float, nullable=False),
    Column("state", String(16), nullable=False),  # requested, running, done
    Column("worker", String(120)),
    Column("expires_at", Float),
)


class LeaseLost(RuntimeError):
    """Another worker holds the run now: this worker's writes for it are refused."""


def check_lease(conn: SQLConnection, run_uuid: str, worker: str) -> None:
    """LeaseLost unless ``worker`` still holds the run's lease; called inside the write
    that depends on it. A write on the ledger holds the ledger's write lock, which a
    claim takes too, so no claim can come between this check and the write's commit;
    a write outside the ledger (TaskFlow's logbook) locks the queue row instead
    (PostgreSQL; SQLite's writers are serialised anyway)."""
    row = conn.execute(select(QUEUE.c.worker, QUEUE.c.state).where(
        QUEUE.c.run_uuid == run_uuid).with_for_update(read=True)).first()
    if row is None or row.worker != worker or row.state != "running":
        holder = row.worker if row is not None and row.state == "running" else None
        raise LeaseLost(f"worker {worker} no longer holds run {run_uuid}"
                        + (f" ({holder} does)" if holder else ""))


WORLDS = Table(
    "flow_worlds", METADATA,
    Column("run_uuid", String(36), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("snapshot", JSON, nullable=False),
)


def _taskflow_tables(metadata: MetaData) -> tf_tables.Tables:
    """TaskFlow's own table definitions, renamed under our prefix."""
    source = tf_tables.fetch(MetaData())
    out = []
    for table in source:
        columns = []
        for col in table.columns:
            copy = col._copy()
            copy.foreign_keys.clear()
            copy.constraints.clear()
            for fk in col.foreign_keys:
                target = PREFIX + fk.target_fullname
                copy.append_foreign_key(ForeignKey(target, ondelete=fk.ondelete))
            if isinstance(col.type, Enum):  # PostgreSQL types share one namespace
                copy = Column(col.name, Enum(*col.type.enums, name=PREFIX + str(col.type.name)),
                              nullable=col.nullable)
            columns.append(copy)
        out.append(Table(PREFIX + table.name, metadata, *columns))
    return tf_tables.Tables(*out)


TASKFLOW_METADATA = MetaData()
TASKFLOW_TABLES = _taskflow_tables(TASKFLOW_METADATA)


class _Connection(impl_sqlalchemy.Connection):
    """TaskFlow's SQL connection, on the prefixed tables."""

    def __init__(self, backend: Any, upgrade_lock: Any) -> None:
        # Not the parent's __init__: it rebuilds TaskFlow's tables on every connection.
        self._backend = backend
        self._upgrade_lock = upgrade_lock
        self._engine = backend.engine
        self._metadata = TASKFLOW_METADATA
        self._tables = TASKFLOW_TABLES
        self._converter = impl_sqlalchemy._Alchemist(self._tables)

    def upgrade(self) -> None:
        with self._upgrade_lock, self._engine.begin() as conn:
            self._metadata.create_all(bind=conn, checkfirst=True)


class LogbookBackend(impl_sqlalchemy.SQLAlchemyBackend):
    """TaskFlow persistence in Craton's own database."""

    def get_connection(self) -> _Connection:
        conn = _Connection(self, upgrade_lock=self._upgrade_lock)
        self._validated = True
        return conn

    def fenced(self, run_uuid: str, worker: str) -> LogbookBackend:
        """This backend, each of whose writes is refused (LeaseLost) once ``worker`` no
        longer holds the run: a worker that lost its lease can neither record its
        steps' states in the logbook the new holder resumes from, nor go on."""
        return LogbookBackend(self._conf, engine=_FencedEngine(self._engine, run_uuid,
                                                                worker))


class _FencedEngine:
    """An engine whose transactions begin with a check of the run's lease (TaskFlow
    writes through ``begin()``; everything else is the engine's own)."""

    def __init__(self, engine: Any, run_uuid: str, worker: str):
        self._engine, self._run_uuid, self._worker = engine, run_uuid, worker

    def __getattr__(self, name: str) -> Any:
        return getattr(self._engine, name)

    @contextmanager
    def begin(self) -> Iterator[SQLConnection]:
        with self._engine.begin() as conn:
            check_lease(conn, self._run_uuid, self._worker)
            yield conn


_created: set[str] = set()
_lock = threading.Lock()


def ensure_schema(db: Database) -> None:
    """Create the flow tables once per database (Craton's schema must exist)."""
    with _lock:
        if db.url in _created and db.url != "sqlite://":
            return
        if db.in_write:  # inside a command: the write transaction's own connection
            _create(db.session().connection())
        else:
            with db.engine.begin() as conn:
                _create(conn)
        _created.add(db.url)


def _create(conn: Any) -> None:
    if not inspect(conn).has_table(QUEUE.name):
        METADATA.create_all(conn, checkfirst=True)
    if not inspect(conn).has_table(TASKFLOW_TABLES.atomdetails.name):
        TASKFLOW_METADATA.create_all(conn, checkfirst=True)


def logbook_backend(db: Database) -> LogbookBackend:
    """A TaskFlow persistence backend on the database's engine."""
    ensure_schema(db)
    return LogbookBackend({"connection": db.url}, engine=db.engine)
