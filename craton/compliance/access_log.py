"""The access log: denied requests and token use, which are not domain events.

The table lives beside the read models but has its own metadata, so it is created
by ``install_access_log`` and never rebuilt by a replay. Rows are written outside
the event store's lock, in their own short transaction.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
from collections import deque
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    inspect,
    select,
)

from craton.bootstrap import Services
from craton.projections.tables import ID, TIME

log = logging.getLogger(__name__)
METADATA = MetaData()
_LOCK = 7_246_003  # advisory lock key guarding the table's creation on PostgreSQL
ACCESS_LOG = Table(
    "access_log", METADATA,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("time", TIME, nullable=False),
    Column("outcome", String(16), nullable=False),  # "denied" or "allowed"
    Column("status", Integer, nullable=False),
    Column("method", String(16)),
    Column("path", Text),
    Column("user_id", ID),
    Column("user_name", String(255)),
    Column("project_id", String(36)),
    Column("remote_addr", String(64)),
    Column("request_id", String(64)),
    Column("reason", Text),
    Index("ix_access_log_time", "time"),
    Index("ix_access_log_user", "user_id", "time"),
)


def install_access_log(services: Services) -> None:
    """Create the access-log table if it is absent (every API worker, as it starts)."""
    services.db.create_once(METADATA, _LOCK)


def has_access_log(conn: Connection) -> bool:
    """Tell whether the access-log table exists in this database."""
    return inspect(conn).has_table(ACCESS_LOG.name)


def _record(services: Services, outcome: str, status: int, fields: dict[str, Any]) -> None:
    row = {"time": fields.pop("time", None) or datetime.now(UTC), "outcome": outcome,
           "status": status, **fields}
    with services.db.engine.begin() as conn:
        conn.execute(ACCESS_LOG.insert(), [row])


def record_denied(services: Services, *, status: int, method: str | None = None,
                  path: str | None = None, user_id: int | None = None,
                  user_name: str | None = None, project_id: str | None = None,
                  remote_addr: str | None = None, request_id: str | None = None,
                  reason: str | None = None, time: datetime | None = None) -> None:
    """Store one refused request (401 or 403): who tried what, and why it was refused."""
    _record(services, "denied", status, {
        "method": method, "path": path, "user_id": user_id, "user_name": user_name,
        "project_id": project_id, "remote_addr": remote_addr, "request_id": request_id,
        "reason": reason, "time": time})


def record_token_use(services: Services, *, user_id: int, user_name: str,
                     project_id: str | None = None, method: str | None = None,
                     path: str | None = None, status: int = 200,
                     remote_addr: str | None = None, request_id: str | None = None,
                     time: datetime | None = None) -> None:
    """Store one authenticated request: the token of ``user_id`` was used."""
    _record(services, "allowed", status, {
        "method": method, "path": path, "user_id": user_id, "user_name": user_name,
        "project_id": project_id, "remote_addr": remote_addr, "request_id": request_id,
        "time": time})


class CredentialUses:
    """Uses of credentials, written by a thread of their own every ``interval``
    seconds: a request never waits for the access log (on SQLite, for its one
    writer). A process keeps at most ``limit`` unwritten uses (the oldest go first)
    and writes what it holds when it exits; uses whose write fails are logged as
    lost."""

    interval = 2.0  # seconds between writes

    def __init__(self, services: Services, limit: int = 10_000):
        self.services = services
        self.pending: deque[dict[str, Any]] = deque(maxlen=limit)
        self._lock = threading.Lock()
        self._owner = 0  # the process whose thread writes (a forked worker starts its own)
        self._closed = threading.Event()
        services.on_close.append(self.close)

    def note(self, **row: Any) -> None:
        """One use: the fields of ``record_token_use``, stamped now."""
        self.pending.append({"time": datetime.now(UTC), "outcome": "allowed",
                             "status": 200, **row})
        if self._owner != os.getpid():
            self._start()

    def _start(self) -> None:
        with self._lock:
            if self._owner == os.getpid():
                return
            self._owner = os.getpid()
            threading.Thread(target=self._write_now_and_then, name="credential-uses",
                             daemon=True).start()
            atexit.register(self.flush)

    def _write_now_and_then(self) -> None:
        while not self._closed.wait(self.interval):
            self.flush()

    def close(self) -> None:
        """Write what is noted and stop writing (the services are closing)."""
        self._closed.set()
        self.flush()

    def flush(self) -> None:
        """Write every use noted so far (the access report asks first)."""
        with self._lock:
            rows = [self.pending.popleft() for _ in range(len(self.pending))]
            if not rows:
                return
            try:
                with self.services.db.engine.begin() as conn:
                    conn.execute(ACCESS_LOG.insert(), rows)
            except Exception:  # evidence, not a reason to stop serving
                log.exception("could not record %d uses of credentials", len(rows))


def access_rows(conn: Connection, start: datetime | None, end: datetime,
                project_id: str | None) -> list[Any]:
    """Access-log rows between two moments, oldest first (none without an access log)."""
    if not has_access_log(conn):
        return []
    t = ACCESS_LOG
    where = [t.c.time <= end]
    if start is not None:
        where.append(t.c.time >= start)
    if project_id is not None:
        where.append(t.c.project_id == project_id)
    return list(conn.execute(select(t).where(*where).order_by(t.c.time, t.c.id)))
