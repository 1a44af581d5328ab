"""Where runs keep their machinery: leases, simulated worlds, and TaskFlow's logbooks.

TaskFlow's logbook tables live in Craton's database under a ``taskflow_``
prefix, created from their table definitions (no alembic, so no
``alembic_version`` table beside ours).
"""

from __future__ import annotations

import threading
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
)
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
