"""Rebuild every read model from the event log, or check the live ones against a rebuild.

A read-model shape change never needs hand-written SQL: bump
``SCHEMA_VERSION`` and the next ``craton init``/``serve`` (or ``craton replay``)
rebuilds the tables from the log into fresh tables and swaps them in.

One replay at a time per database (``replay_lock``): a rebuild and a verification
each drop and fill scratch tables of fixed names, and a rebuild swaps its own in.
"""

from __future__ import annotations

import fcntl
import json
import multiprocessing
import os
import queue
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import lru_cache
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent
from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    String,
    Table,
    bindparam,
    func,
    inspect,
    literal,
    select,
    text,
    update,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.expression import column
from sqlalchemy.sql.expression import table as table_clause

from craton.bootstrap import Services
from craton.collector import collector_paused
from craton.db import EVENTS_TABLE, Database
from craton.domain.errors import Conflict, LedgerBusy
from craton.memory import peak_mib
from craton.progress import Progress
from craton.projections import indexing, lateness
from craton.projections.appender import Appender
from craton.projections.bulk import analyze_committed
from craton.projections.held import HeldBatch
from craton.projections.projector import Projector
from craton.projections.tables import LIVE, SCHEMA_VERSION, Tables, build_tables, statistics_ddl
from craton.projections.timeline import utc
from craton.schema import REPLAY_LOCK

EVENTS = table_clause(EVENTS_TABLE, column("id"), column("originator_id"),
                      column("originator_version"), column("topic"), column("state"))
SORT_KEYS = {
    "resource_versions": ("id", "valid_from"),
    "variable_versions": ("resource_id", "key", "valid_from"),
    "fact_versions": ("resource_id", "key", "valid_from"),
    "label_versions": ("resource_id", "label", "valid_from"),
    "member_versions": ("resource_id", "group_id", "valid_from"),
    "event_log": ("position",),
    "late_events": ("position",),
    "projection_state": ("name",),
}


@dataclass
class ReplayResult:
    events: int = 0
    seconds: float = 0.0
    differences: list[str] = field(default_factory=list)  # the first of each table's
    difference_count: int = 0  # every difference, listed or not
    workers: int = 1
    peak_mib: float = 0.0  # this process's peak RSS plus each worker's


def stored_batches(conn: Connection, after: int, batch_size: int,
                   stop: int | None = None, share: Share | None = None
                   ) -> Iterator[list[Any]]:
    """Stored events after a position (up to ``stop``; of one share), a batch at a time."""
    if share is not None and share.of > 1:
        yield from _share_batches(conn, after, batch_size, stop, share)
        return
    while True:
        stmt = select(EVENTS).where(EVENTS.c.id > after).order_by(EVENTS.c.id).limit(batch_size)
        if stop is not None:
            stmt = stmt.where(EVENTS.c.id <= stop)
        rows = list(conn.execute(stmt).all())
        if not rows:
            return
        yield rows
        after = rows[-1].id


def _share_batches(conn: Connection, after: int, batch_size: int, stop: int | None,
                   share: Share) -> Iterator[list[Any]]:
    """``stored_batches`` of one share: the share's events in windows of positions
    that hold ``batch_size`` of them on average, at most ``batch_size`` a batch (a
    full one is followed by the rest of its window); empty windows are passed over.
    With ``stop`` None, up to the last event when the read begins.

    The window is what keeps the plan right: PostgreSQL cannot know how many events
    the share's condition keeps, guesses very few, and with only ``LIMIT`` read and
    sorted the whole rest of the log for every batch (200 ms a batch half way
    through a million events, against 1 ms for a window; most of a replay's
    database time).
    """
    size = max(1, batch_size)
    if stop is None:
        stop = int(conn.execute(select(func.max(EVENTS.c.id))).scalar() or 0)
    statement = _share_statement(conn.dialect.name, share)
    while after < stop:
        upto = min(after + size * share.of, stop)
        rows = list(conn.execute(statement, {"after": after, "upto": upto,
                                             "size": size}).all())
        if rows:
            yield rows
        after = rows[-1].id if len(rows) == size else upto


@lru_cache(maxsize=16)
def _share_statement(dialect: str, share: Share) -> Select[Any]:
    return (select(EVENTS).where(EVENTS.c.id > bindparam("after"),
                                 EVENTS.c.id <= bindparam("upto"), share.condition(dialect))
            .order_by(EVENTS.c.id).limit(bindparam("size")))


def _decode(svc: Services, rows: list[Any]) -> list[tuple[int, Any]]:
    to_domain_event = svc.ledger.mapper.to_domain_event
    return [
        (r.id, to_domain_event(StoredEvent(
            originator_id=_uuid(r.originator_id), originator_version=r.originator_version,
            topic=r.topic, state=bytes(r.state))))
        for r in rows
    ]


def _project_rows(svc: Services, projector: Projector, conn: Connection, rows: list[Any]) -> None:
    projector.apply(conn, _decode(svc, rows))


def _uuid(value: Any) -> UUID:
    if isinstance(value, UUID):
        return value
    if isinstance(value, (bytes, memoryview)):
        return UUID(bytes=bytes(value))  # UUIDType stores 16 raw bytes on SQLite
    return UUID(str(value))


SCRATCH = "rebuild_"  # a rebuild's scratch tables and indexes: the live names, prefixed


def _fresh(svc: Services, prefix: str) -> Tables:
    """Empty scratch tables with only the indexes projecting needs (faster to fill)."""
    tables = build_tables(prefix, lean=True)
    tables.metadata.drop_all(svc.db.engine)
    tables.metadata.create_all(svc.db.engine)
    return tables


def project_into(svc: Services, tables: Tables, *, batch_size: int = 5000,
                 show_progress: bool | None = None, workers: int | None = None
                 ) -> ReplayResult:
    """Project the whole log into empty tables, holding the current rows in memory.

    Rows are appended once each, finished (see ``HeldBatch``), by an
    ``Appender`` that writes while the next batch is decoded and projected.
    An aggregate's rows depend on its own events only, so the log is split
    by aggregate between ``workers`` processes, each reading, projecting and
    writing its share. Events appended after the start are left to the
    catch-up under the write lock.
    """
    with svc.db.read_engine.connect() as conn:
        stop = int(conn.execute(select(func.max(EVENTS.c.id))).scalar() or 0)
        total = conn.execute(select(func.count()).select_from(EVENTS)
                             .where(EVENTS.c.id <= stop)).scalar_one()
        conn.rollback()
    bar = Progress("replay", total, enabled=show_progress)
    parts = replay_workers(svc, workers)
    workers_mib = 0.0
    if parts == 1:
        _project_share(svc, tables, batch_size, stop, Share(0, 1), bar.advance)
    else:
        workers_mib = _project_in_processes(svc, tables, batch_size, stop, parts, bar)
    with svc.db.engine.begin() as conn:  # (which events are late takes the whole log)
        lateness.record_all(conn, tables)
    bar.finish()
    return ReplayResult(events=bar.done, workers=parts, peak_mib=peak_mib() + workers_mib)


def replay_workers(svc: Services, asked: int | None = None) -> int:
    """Processes for a replay: as asked, else one per core, at most four on
    PostgreSQL and two on SQLite (its one writer at a time takes turns; the
    projecting, most of the work, is what the processes share; on two cores
    two processes replayed a log a fifth faster than one, for half as much
    memory again); always one for an in-memory database."""
    if svc.db.in_memory:
        return 1
    if asked is not None:
        return max(1, asked)
    return max(1, min(4 if svc.db.is_postgres else 2, os.cpu_count() or 1))


@dataclass(frozen=True)
class Share:
    """The aggregates one replay process projects: those whose id hashes to ``index``."""

    index: int
    of: int

    def condition(self, dialect: str) -> ColumnElement[bool]:
        return _last_byte(dialect) % self.of == self.index


def _last_byte(dialect: str) -> ColumnElement[int]:
    """The last byte of an event's aggregate id, in SQL (uuid on PostgreSQL, 16 bytes on SQLite)."""
    column = EVENTS.c.originator_id
    if dialect == "postgresql":
        return func.get_byte(func.uuid_send(column), 15)
    digits = literal("0123456789ABCDEF")
    return ((func.instr(digits, func.substr(func.hex(column), 31, 1)) - 1) * 16
            + func.instr(digits, func.substr(func.hex(column), 32, 1)) - 1)


def _project_share(svc: Services, tables: Tables, batch_size: int, stop: int, share: Share,
                   advance: Callable[[int], None]) -> None:
    projector = Projector(tables)
    held = HeldBatch(tables)
    read_engine = svc.db.read_engine
    # One batch waits for the writer on PostgreSQL (its checkpoints stall the writers
    # now and then); two on SQLite, where the workers' writers take turns.
    depth = 1 if svc.db.is_postgres else 2
    with Appender(svc.db.engine, threaded=not svc.db.in_memory, depth=depth) as appender, \
            collector_paused():
        after = 0
        while True:
            with read_engine.connect() as conn:
                rows = next(stored_batches(conn, after, batch_size, stop, share), [])
                conn.rollback()
            if not rows:
                break
            projector.project(held, _decode(svc, rows))
            appender.put(held.take())
            after = rows[-1].id
            advance(len(rows))
        for chunk in held.take_current():
            appender.put([chunk])


def _project_in_processes(svc: Services, tables: Tables, batch_size: int, stop: int,
                          parts: int, bar: Progress) -> float:
    """One forked process per share; progress, failures and each one's peak memory
    come back on a queue. Returns the sum of the workers' peaks (MiB)."""
    context = multiprocessing.get_context("fork")
    reports: Any = context.Queue()
    processes = [context.Process(target=_share_main, name=f"replay-{k}",
                                 args=(svc, tables, batch_size, stop, Share(k, parts), reports))
                 for k in range(parts)]
    for process in processes:
        process.start()
    failures: list[str] = []
    finished: set[int] = set()
    peaks = 0.0
    while len(finished) < parts:
        try:
            kind, value = reports.get(timeout=1.0)
        except queue.Empty:  # a process that died without a word is a failure too
            for k, process in enumerate(processes):
                if k not in finished and process.exitcode is not None and reports.empty():
                    finished.add(k)
                    failures.append(f"{process.name} exited with code {process.exitcode}")
            continue
        if kind == "advance":
            bar.advance(value)
        else:
            index, detail = value
            finished.add(index)
            if kind == "failed":
                failures.append(detail)
            else:
                peaks += detail
    for process in processes:
        process.join()
    if failures:
        raise ReplayFailed("; ".join(failures))
    return peaks


def _share_main(svc: Services, tables: Tables, batch_size: int, stop: int, share: Share,
                reports: Any) -> None:
    svc.db.dispose(close=False)  # the parent's connections stay the parent's
    try:
        _project_share(svc, tables, batch_size, stop, share,
                       lambda n: reports.put(("advance", n)))
    except BaseException as exc:
        # Reported, not raised: the parent says it in one line; no traceback from here.
        reports.put(("failed", (share.index, f"share {share.index} of {share.of}: "
                                              f"{type(exc).__name__}: {exc}")))
        return
    reports.put(("done", (share.index, peak_mib())))


class ReplayFailed(RuntimeError):
    """A replay process failed; the live read models are untouched."""


class ReplayRunning(Conflict):
    """Another replay of the same database (a rebuild or a verification) holds the
    replay lock; this one was refused before it touched anything."""


REPLAY_RUNNING = ("a replay of this database is already running (craton replay, replay "
                  "--verify, or a rebuild at start-up): try again once it has finished")


@contextmanager
def replay_lock(db: Database) -> Iterator[None]:
    """Held for the whole of a rebuild or a verification; ``ReplayRunning`` at once if
    another replay of the database holds it.

    On PostgreSQL a session-level advisory lock, per schema, on a connection of
    its own: the server releases it when that connection ends, so a replay killed
    part way leaves no lock behind. On SQLite an exclusive ``flock`` on a file
    beside the database's (``lock_file``), which the system releases with the
    process; an in-memory database is this process's alone and needs none.
    """
    if db.is_postgres:
        with _advisory_lock(db):
            yield
        return
    path = lock_file(db.url)
    if path is None:
        yield
        return
    with _file_lock(path):
        yield


_SCHEMA_KEY = "CAST(CAST(CAST(current_schema() AS regnamespace) AS oid) AS integer)"


@contextmanager
def _advisory_lock(db: Database) -> Iterator[None]:
    keys = {"k": REPLAY_LOCK}
    conn = db.engine.connect()
    try:
        held = conn.execute(text(f"SELECT pg_try_advisory_lock(:k, {_SCHEMA_KEY})"),
                            keys).scalar()
        conn.commit()  # the lock is the session's: no transaction stays open for it
        if not held:
            raise ReplayRunning(REPLAY_RUNNING)
        try:
            yield
        finally:
            try:
                conn.execute(text(f"SELECT pg_advisory_unlock(:k, {_SCHEMA_KEY})"), keys)
                conn.commit()
            except DBAPIError:  # the connection is gone, and its lock with it
                conn.invalidate()
    finally:
        conn.close()


def lock_file(url: str) -> str | None:
    """The file whose lock a replay of an SQLite database holds: the database file's
    path (links resolved) with ``.replay-lock`` added; None for a database in memory."""
    parsed = make_url(url)
    path = parsed.database
    if path and path.startswith("file:"):  # a URI filename (``?uri=true``)
        if parsed.query.get("mode") == "memory":
            return None
        path = path.removeprefix("file:").split("?", 1)[0]
    if not path or path == ":memory:":
        return None
    return f"{os.path.realpath(path)}.replay-lock"


@contextmanager
def _file_lock(path: str) -> Iterator[None]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ReplayRunning(REPLAY_RUNNING) from None
        yield  # released by the close (the forked workers have exited by then)
    finally:
        os.close(fd)


def _catch_up(svc: Services, tables: Tables, conn: Connection, upto: int | None = None
              ) -> None:
    """Project into ``tables`` what arrived while they were filled: up to ``upto``,
    else to the end of the log (inside the write lock, for a rebuild's swap)."""
    last = conn.execute(select(func.max(tables.events.c.position))).scalar() or 0
    projector = Projector(tables)  # reads the current rows back through the lookup indexes
    for rows in stored_batches(conn, int(last), 5000, stop=upto):
        _project_rows(svc, projector, conn, rows)


def rebuild(svc: Services, *, batch_size: int = 5000,
            show_progress: bool | None = None, workers: int | None = None) -> ReplayResult:
    """Rebuild every read model into fresh tables, then swap them in atomically;
    ``ReplayRunning`` if another replay of the database is running."""
    with replay_lock(svc.db):
        return _rebuild_locked(svc, batch_size=batch_size, show_progress=show_progress,
                               workers=workers)


# How long a finished rebuild keeps asking for the write lock to swap its tables in
# (each ask waits as long as any write does: db.WRITE_WAIT_S), before it gives up.
SWAP_PATIENCE_S = 3600.0


def _rebuild_locked(svc: Services, *, batch_size: int = 5000,
                    show_progress: bool | None = None, workers: int | None = None
                    ) -> ReplayResult:
    """``rebuild``, its caller holding the replay lock."""
    started = datetime.now()
    scratch = _fresh(svc, SCRATCH)
    projected = project_into(svc, scratch, batch_size=batch_size,
                             show_progress=show_progress, workers=workers)
    prepared = indexing.prepare(svc.db.engine, scratch, SCRATCH) if svc.db.is_postgres \
        else None
    deadline = time.monotonic() + SWAP_PATIENCE_S
    while True:
        try:
            with svc.db.writing() as session:
                conn = session.connection()
                _catch_up(svc, scratch, conn)
                for live, new in zip(LIVE.rebuildable, scratch.rebuildable, strict=True):
                    _swap(conn, live, new, prepared)
                _set_schema_version(conn)
            break
        except LedgerBusy:  # a long write (an import) holds the lock: the rebuild stands
            if time.monotonic() >= deadline:
                raise
            print("replay: waiting for the write lock to swap the rebuilt tables in",
                  file=sys.stderr)
    if prepared is None:
        analyze_committed(svc.db, LIVE.rebuildable)  # after the swap: writers need not wait
    scratch.metadata.drop_all(svc.db.engine)
    return replace(projected, seconds=(datetime.now() - started).total_seconds())


def _swap(conn: Connection, live: Table, new: Table,
          prepared: indexing.Prepared | None = None) -> None:
    """Put a rebuilt table in place of the live one, with the live one's indexes:
    ``prepared`` ones renamed, else built here.

    The live table is dropped and created anew in shape, so a changed shape
    needs no hand-written SQL; all in the caller's transaction.
    """
    live.drop(conn, checkfirst=True)
    conn.exec_driver_sql(f"ALTER TABLE {new.name} RENAME TO {live.name}")
    if conn.dialect.name == "postgresql" and "row_id" in new.c:
        conn.exec_driver_sql(f"ALTER SEQUENCE {new.name}_row_id_seq "
                             f"RENAME TO {live.name}_row_id_seq")
    if conn.dialect.name == "postgresql":
        # The primary key keeps the scratch table's name (with a number once that
        # is taken by an earlier rebuild's): give it the live table's.
        pkey = conn.exec_driver_sql(
            "SELECT conname FROM pg_constraint WHERE conrelid = %(t)s::regclass "
            "AND contype = 'p'", {"t": live.name}).scalar()
        if pkey and pkey != f"{live.name}_pkey":
            conn.exec_driver_sql(
                f"ALTER TABLE {live.name} RENAME CONSTRAINT {pkey} TO {live.name}_pkey")
    if prepared is not None:
        for statement in prepared.index_renames(live):
            conn.exec_driver_sql(statement)
        return
    for index in new.indexes:
        conn.exec_driver_sql(f"DROP INDEX {index.name}")
    for index in live.indexes:
        index.create(conn)
    ddl = statistics_ddl(live.name)
    if ddl is not None and conn.dialect.name == "postgresql":
        conn.exec_driver_sql(ddl)


def _set_schema_version(conn: Connection) -> None:
    state = LIVE.state
    done = conn.execute(update(state).where(state.c.name == "schema_version")
                        .values(value=SCHEMA_VERSION)).rowcount
    if not done:
        conn.execute(state.insert().values(name="schema_version", value=SCHEMA_VERSION))


def verify(svc: Services, *, batch_size: int = 5000,
           show_progress: bool | None = None, workers: int | None = None) -> ReplayResult:
    """Rebuild into scratch tables and compare with the live ones, table by table;
    ``ReplayRunning`` if another replay of the database is running.

    Writers go on while it compares: the live tables are read in one snapshot,
    without the write lock, and the scratch tables are first brought up to the
    position that snapshot stands at (see ``_compare_all``).
    """
    started = datetime.now()
    with replay_lock(svc.db):
        scratch = _fresh(svc, "verify_")
        projected = project_into(svc, scratch, batch_size=batch_size,
                                 show_progress=show_progress, workers=workers)
        differences, count = _compare_all(svc, scratch)
        scratch.metadata.drop_all(svc.db.engine)
    return replace(projected, differences=differences, difference_count=count,
                   seconds=(datetime.now() - started).total_seconds())


def _compare_all(svc: Services, scratch: Tables) -> tuple[list[str], int]:
    """Every live table against its rebuild: the differences described, and their count.

    The live tables are read in a snapshot that takes no write lock; they are
    written in the transactions that append the events they show, so they stand
    at the log's last position in that snapshot. The scratch tables, this
    verification's own, are projected up to exactly that position in a
    transaction of their own, then read on another connection: nothing else
    writes them, so any read of them sees what the snapshot should.
    """
    db = svc.db
    if db.in_memory or (not db.is_postgres and db.read_engine.url != db.engine.url):
        # In memory, one connection serves everything; an SQLite replica has no
        # scratch tables. Both compare on the writers' connection, as writers wait.
        with db.writing() as session:
            conn = session.connection()
            _catch_up(svc, scratch, conn)
            return _compare_tables(conn, conn, scratch)
    with _reader(db) as live:
        upto = int(live.execute(select(func.max(EVENTS.c.id))).scalar() or 0)
        with db.engine.begin() as conn:
            _catch_up(svc, scratch, conn, upto)
        with _reader(db) as rebuilt:
            return _compare_tables(live, rebuilt, scratch)


@contextmanager
def _reader(db: Database) -> Iterator[Connection]:
    """A transaction on the database the writers write (not a replica) that takes no
    write lock and sees one snapshot throughout: REPEATABLE READ on PostgreSQL, a
    read transaction under WAL on SQLite (whose readers' engine is the writers'
    database unless a replica is configured; the caller sees to that)."""
    engine = db.engine if db.is_postgres else db.read_engine
    with engine.connect() as conn:
        if db.is_postgres:  # (the pool resets the level when the connection returns)
            conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            yield conn


def _compare_tables(live_conn: Connection, rebuilt_conn: Connection, scratch: Tables
                    ) -> tuple[list[str], int]:
    differences: list[str] = []
    count = 0
    for live, new in zip(LIVE.rebuildable, scratch.rebuildable, strict=True):
        described, found = compare(live_conn, live, new, rebuilt_conn=rebuilt_conn)
        differences += described
        count += found
    return differences, count


def _normal(value: Any) -> Any:
    if isinstance(value, datetime):
        return utc(value).isoformat()
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True)
    return value


def _stream(conn: Connection, t: Table, name: str) -> Iterator[tuple[Any, ...]]:
    """The table's rows in key order as Python compares the keys: text in code-point
    order (PostgreSQL's "C" collation; a database's own, en-US say, orders otherwise)."""
    cols = [c for c in t.columns if c.name != "row_id"]
    postgres = conn.dialect.name == "postgresql"
    order = [t.c[k].collate("C") if postgres and isinstance(t.c[k].type, String) else t.c[k]
             for k in SORT_KEYS[name]]
    result = conn.execution_options(yield_per=2000).execute(select(*cols).order_by(*order))
    for row in result:
        yield tuple(_normal(v) for v in row)


def compare(conn: Connection, live: Table, rebuilt: Table, limit: int = 50, *,
            rebuilt_conn: Connection | None = None) -> tuple[list[str], int]:
    """The rows that differ between a live table and its rebuild: the first ``limit``
    described, and how many there are in all. The rebuild is read on ``rebuilt_conn``
    when given, else on ``conn``."""
    name = live.name
    keys = SORT_KEYS[name]
    cols = [c.name for c in live.columns if c.name != "row_id"]
    key_index = [cols.index(k) for k in keys]
    out: list[str] = []
    count = 0

    def note(line: str) -> None:
        nonlocal count
        count += 1
        if len(out) < limit:
            out.append(f"{name} {line}")

    a, b = _stream(conn, live, name), _stream(rebuilt_conn or conn, rebuilt, name)
    ra, rb = next(a, None), next(b, None)
    while ra is not None or rb is not None:
        ka = tuple(ra[i] for i in key_index) if ra else None
        kb = tuple(rb[i] for i in key_index) if rb else None
        if ra is not None and (kb is None or (ka is not None and ka < kb)):
            note(f"{dict(zip(keys, ka or (), strict=False))}: in the live table, not in the "
                 "rebuild")
            ra = next(a, None)
        elif rb is not None and (ka is None or (kb is not None and kb < ka)):
            note(f"{dict(zip(keys, kb or (), strict=False))}: in the rebuild, missing from "
                 "the live table")
            rb = next(b, None)
        else:
            if ra != rb:
                fields = [c for c, x, y in zip(cols, ra or (), rb or (), strict=False) if x != y]
                note(f"{dict(zip(keys, ka or (), strict=False))}: differs in "
                     f"{', '.join(fields)}")
            ra, rb = next(a, None), next(b, None)
    if count > len(out):
        out.append(f"{name}: {count - len(out):,} more differences not listed "
                   f"({count:,} in all)")
    return out, count


def needs_rebuild(svc: Services) -> bool:
    """True when the stored read models were built by another schema version."""
    with svc.db.reading() as conn:
        if not inspect(conn).has_table(LIVE.state.name):
            return False
        version = conn.execute(select(LIVE.state.c.value).where(
            LIVE.state.c.name == "schema_version")).scalar()
    return version != SCHEMA_VERSION
