"""Engines, sessions and transactions: one write path, one read path."""

from __future__ import annotations

import select
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

import psycopg2
import sqlalchemy.exc
from eventsourcing.persistence import IntegrityError as StoreIntegrityError
from sqlalchemy import (
    Connection,
    Dialect,
    Engine,
    MetaData,
    Select,
    create_engine,
    event,
    text,
)
from sqlalchemy.orm import Session, scoped_session, sessionmaker
from sqlalchemy.pool import StaticPool
from sqlalchemy.sql.expression import ClauseElement

from craton import codec
from craton.domain.errors import ConcurrentWrite, DomainError, InvalidInput, LedgerBusy

EVENTS_TABLE = "craton_events"
# JSON columns are written and read through orjson (see craton.codec).
JSON_CODEC: dict[str, Any] = {"json_serializer": codec.dumps, "json_deserializer": codec.loads}


def normalise_url(url: str) -> str:
    """Map bare PostgreSQL URLs onto psycopg2, the driver Craton ships with."""
    for bare in ("postgresql://", "postgres://"):
        if url.startswith(bare):
            return "postgresql+psycopg2://" + url[len(bare):]
    return url


def dialect_of(url: str) -> str:
    """The kind of database a URL names: ``sqlite``, ``postgresql``, ..."""
    return normalise_url(url).split(":", 1)[0].split("+", 1)[0]


def check_read_url(url: str, read_url: str) -> None:
    """InvalidInput unless the read URL names the same kind of database as the URL
    (a replica of it: the readers' engine is built as the writers' is)."""
    if dialect_of(read_url) != dialect_of(url):
        raise InvalidInput("CRATON_READ_DATABASE_URL must name the same kind of database "
                           f"as CRATON_DATABASE_URL ({dialect_of(url)}), not "
                           f"{dialect_of(read_url)}")


def in_memory(url: str) -> bool:
    """An SQLite database that lives in this process only."""
    return url in ("sqlite://", "sqlite:///:memory:")


def _sqlite_engine(url: str, *, immediate: bool) -> Engine:
    memory = in_memory(url)
    kwargs: dict[str, Any] = {"connect_args": {"check_same_thread": False, "timeout": 30},
                              **JSON_CODEC}
    if memory:
        kwargs["poolclass"] = StaticPool
    engine = create_engine(url, **kwargs)

    @event.listens_for(engine, "connect")
    def _connect(dbapi: Any, _record: Any) -> None:
        dbapi.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi.cursor()
        if not memory:
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute(f"PRAGMA busy_timeout={int(WRITE_WAIT_S * 1000)}")
        cur.execute("PRAGMA foreign_keys=ON")
        # Deleted content is overwritten where that costs no extra write (some builds,
        # Debian's among them, overwrite every freed page: dropping a replaced read-model
        # table of a million rows then wrote all its pages again, 1.4 s against 0.1).
        cur.execute("PRAGMA secure_delete=FAST")
        # Large sorts (building an index) may use up to two helper threads besides the
        # connection's own: a replay's index builds took a fifth less time.
        cur.execute("PRAGMA threads=2")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        # Writers take the write lock at BEGIN, so a command's reads and its
        # writes see one state and writers queue instead of failing.
        if immediate:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
            return
        # A reader's BEGIN takes no lock and waits for nothing; sent through the
        # driver it costs 2 microseconds instead of SQLAlchemy's 25 (every request).
        driver(conn).execute("BEGIN")

    return engine


def driver(conn: Connection) -> Any:
    """The driver's own connection under ``conn`` (sqlite3 or psycopg2), for calls that
    SQLAlchemy's execution would cost more than they do."""
    found = conn.connection.driver_connection
    assert found is not None
    return found


_AS_THEY_ARE = frozenset({int, str, bool, float})  # values both drivers bind as SQLAlchemy does


@lru_cache(maxsize=512)
def compiled_once(statement: Select[Any], dialect: Dialect) -> Any:
    """A statement built once per shape, compiled once per dialect."""
    return statement.compile(dialect=dialect)


def drivers_own(compiled: Any, values: dict[str, Any]) -> bool:
    """Whether the driver can run ``compiled`` with ``values`` as SQLAlchemy would: no
    list expanded into its text per call, and values bound as they are."""
    return ("__[POSTCOMPILE_" not in compiled.string
            and all(v is None or type(v) in _AS_THEY_ARE for v in values.values()))


def fetch(conn: Connection, statement: Select[Any], params: dict[str, Any]
          ) -> tuple[list[str], Sequence[Any]]:
    """The names of a statement's columns and its rows, run on the driver's cursor
    with the statement compiled once (a statement built once per shape: cached).

    SQLAlchemy's execution costs more than small reads do. Values the driver would
    not bind as SQLAlchemy does (times: SQLite's text of them differs) and lists
    (``IN``, expanded into the text per call) go through SQLAlchemy.
    """
    compiled = compiled_once(statement, conn.dialect)
    values = compiled.construct_params(params)
    if drivers_own(compiled, values):
        cursor = driver(conn).cursor()
        try:
            cursor.execute(compiled.string, values if compiled.positiontup is None
                           else [values[name] for name in compiled.positiontup])
            return [d[0] for d in cursor.description], cursor.fetchall()
        finally:
            cursor.close()
    result = conn.execute(statement, params)
    try:
        return [d[0] for d in result.cursor.description], result.cursor.fetchall()
    finally:
        result.close()


def _postgres_engine(url: str, **kwargs: Any) -> Engine:
    """A PostgreSQL engine whose pool hands out no connection the server has closed.

    SQLAlchemy's ``pool_pre_ping`` sends a query on every checkout: a round
    trip per request. A connection the server closed (a restart, an idle
    timeout, ``pg_terminate_backend``) has its end of the socket readable (the
    server's farewell, then end of file) while nothing else is expected on an
    idle connection, so looking at the socket is enough and costs no round trip.
    A connection lost without a word (a network cut) still fails its first
    statement, and SQLAlchemy then invalidates the pool.
    """
    engine = create_engine(url, **JSON_CODEC, **kwargs)

    @event.listens_for(engine, "checkout")
    def _alive(dbapi: Any, _record: Any, _proxy: Any) -> None:
        if dbapi.closed or _readable(dbapi.fileno()):
            raise sqlalchemy.exc.DisconnectionError("the server closed this connection")

    return engine


def _readable(fd: int) -> bool:
    """Whether the socket has something to read (or its end) now; ``poll``, as
    ``select`` refuses descriptors past 1023. In doubt, the connection is taken
    as alive and its first statement tells."""
    try:
        watch = select.poll()
        watch.register(fd, select.POLLIN | select.POLLPRI)
        return bool(watch.poll(0))
    except (OSError, ValueError, AttributeError):
        return False


class WriteAbandoned(RuntimeError):
    """A write went on after one of its saves failed part way; nothing was written."""


# How long a write waits for the write lock before it is refused as busy (503, retry):
# SQLite's busy timeout, PostgreSQL's lock_timeout on the event table's lock.
WRITE_WAIT_S: float = 30


def pg_write_lock() -> str:
    """The write lock on PostgreSQL, waited for at most WRITE_WAIT_S; the transaction's
    other locks (a rebuild's swap, say) wait as the server is configured to."""
    return (f"SET LOCAL lock_timeout = {int(WRITE_WAIT_S * 1000)}; "
            f"LOCK TABLE {EVENTS_TABLE} IN EXCLUSIVE MODE; SET LOCAL lock_timeout TO DEFAULT")


READ_ON_BEGIN = "craton.read_on_begin"  # conn.info key: what the snapshot read first


def piggyback_text(statement: ClauseElement) -> str:
    """A statement as SQL text with its values written in, to send in another
    statement's round trip (``read_with_lock``, ``read_on_begin``)."""
    return str(statement.compile(compile_kwargs={"literal_binds": True}))


def _end(conn: Connection, *, commit: bool) -> None:
    """End a reader's transaction; a connection that cannot is not pooled again
    (an open transaction must not pass to the next reader). A failed rollback
    is not raised: the error that led to it is."""
    try:
        conn.exec_driver_sql("COMMIT" if commit else "ROLLBACK")
    except Exception:
        conn.invalidate()
        if commit:
            raise


class Database:
    """The database behind one process: events, read models, flow logbooks."""

    def __init__(self, url: str, read_url: str | None = None):
        self.url = normalise_url(url)
        self.dialect = dialect_of(self.url)
        if read_url is not None:
            check_read_url(self.url, read_url)
        if self.dialect == "sqlite":
            self.engine = _sqlite_engine(self.url, immediate=True)
            self.read_engine = self.engine if self.in_memory else _sqlite_engine(
                normalise_url(read_url or self.url), immediate=False)
        else:
            self.engine = _postgres_engine(self.url)
            # Readers have a pool of their own, in autocommit: ``reading`` begins
            # each REPEATABLE READ snapshot itself (sharing the writers' pool cost
            # a SET on every checkout and another on every return).
            self.read_engine = _postgres_engine(normalise_url(read_url or self.url),
                                                isolation_level="AUTOCOMMIT")
        self.session = scoped_session(sessionmaker(bind=self.engine, autoflush=False))
        self._local = threading.local()
        self.on_rollback: list[Callable[[], None]] = []  # forget what a failed write cached
        self.on_commit: list[Callable[[], None]] = []  # a write's caches are now true
        # PostgreSQL: a query sent with the lock, in its round trip (its first row is
        # the write's to take once: see ``taken_with_lock``).
        self.read_with_lock: str | None = None
        # PostgreSQL: a scalar query sent with a reader's BEGIN (``timeline.head``).
        self.read_on_begin: str | None = None

    @property
    def in_memory(self) -> bool:
        """One in-process SQLite database: one connection, shared by everything."""
        return in_memory(self.url)

    @property
    def is_postgres(self) -> bool:
        return self.dialect == "postgresql"

    @contextmanager
    def writing(self) -> Iterator[Session]:
        """One write transaction, serialised with every other writer; re-entrant."""
        depth = getattr(self._local, "depth", 0)
        session = self.session()
        if depth:
            self._local.depth = depth + 1
            try:
                yield session
            finally:
                self._local.depth = depth
            return
        self._local.depth = 1
        try:
            session.begin()
            if self.is_postgres:
                if self.read_with_lock:  # read after the lock is granted, so up to date
                    self._local.with_lock = (session.execute(
                        text(f"{pg_write_lock()}; {self.read_with_lock}")).first(),)
                else:
                    session.execute(text(pg_write_lock()))
            yield session
            if getattr(self._local, "abandoned", False):
                raise WriteAbandoned("a save in this write failed part way; the write is "
                                     "rolled back")
            session.commit()
        except BaseException as exc:
            # Forget what the failed write cached while its lock is still held, so no
            # other thread can load that state between the rollback and the forgetting.
            try:
                for forget in self.on_rollback:
                    forget()
            finally:
                session.rollback()
            translated = _translate(exc)
            if translated is exc:
                raise
            raise translated from exc
        else:
            for settle in self.on_commit:
                settle()
        finally:
            self._local.depth = 0
            self._local.with_lock = None
            self._local.abandoned = False
            self.session.remove()

    def create_once(self, metadata: MetaData, lock_key: int) -> None:
        """Create the tables of ``metadata`` that are absent.

        Processes that start together (API workers) each call this: on
        PostgreSQL an advisory lock lets one create the tables while the others
        wait and then find them; SQLite's write transaction does the same.
        """
        with self.engine.begin() as conn:
            if self.is_postgres:
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": lock_key})
            metadata.create_all(conn, checkfirst=True)

    def abandon(self) -> None:
        """The current write failed part way (a save stored its events but not all
        that goes with them): it rolls back, even if the caller catches the error."""
        if self.in_write:
            self._local.abandoned = True

    def taken_with_lock(self) -> tuple[Any] | None:
        """The row ``read_with_lock`` found when this write took the lock, as a
        1-tuple (its row may be None); None if it was not read or was taken already.
        Once only: what the write does next may change what it read."""
        found: tuple[Any] | None = getattr(self._local, "with_lock", None)
        self._local.with_lock = None
        return found

    @property
    def in_write(self) -> bool:
        return bool(getattr(self._local, "depth", 0))

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        """A consistent snapshot to read from (the write transaction's, inside one)."""
        if self.in_write:
            yield self.session().connection()
            return
        outer = getattr(self._local, "reader", None)
        if outer is not None:  # nested reads share the outer snapshot
            yield outer
            return
        with self.read_engine.connect() as conn:
            if self.is_postgres:
                with self._snapshot(conn):
                    yield conn
                return
            with conn.begin():
                self._local.reader = conn
                try:
                    yield conn
                finally:
                    self._local.reader = None

    @contextmanager
    def one_statement(self) -> Iterator[Connection]:
        """A connection for a read answered by one statement, which is its own snapshot.

        On PostgreSQL the reader's connection is used as it is, in autocommit: no
        BEGIN and no COMMIT, two round trips fewer than ``reading``. Elsewhere,
        and inside a write or another read, it is ``reading``'s connection.
        """
        if not self.is_postgres or self.in_write or getattr(self._local, "reader", None):
            with self.reading() as conn:
                yield conn
            return
        with self.read_engine.connect() as conn:
            yield conn

    @contextmanager
    def _snapshot(self, conn: Connection) -> Iterator[None]:
        """PostgreSQL: BEGIN and ``read_on_begin`` in one round trip.

        The readers' connections are in autocommit, so the driver sends no BEGIN
        of its own (a round trip before the first statement); this sends it
        with the query every read asks first, and keeps that query's answer in
        ``conn.info[READ_ON_BEGIN]`` for the snapshot's length.
        """
        begin = "BEGIN ISOLATION LEVEL REPEATABLE READ"
        info = conn.info  # taken now: an invalidated connection's would reconnect
        try:
            # Inside the guard: if the query fails, the server's transaction has
            # begun all the same and must be rolled back before the pool has it.
            if self.read_on_begin:
                info[READ_ON_BEGIN] = conn.exec_driver_sql(
                    f"{begin}; {self.read_on_begin}").scalar()
            else:
                conn.exec_driver_sql(begin)
            self._local.reader = conn
            yield
        except BaseException:
            _end(conn, commit=False)
            raise
        else:
            _end(conn, commit=True)
        finally:
            self._local.reader = None
            info.pop(READ_ON_BEGIN, None)

    def limit_statements(self, seconds: float) -> None:
        """PostgreSQL: stop any statement of this process's that runs past ``seconds``
        (``statement_timeout``, on every connection from now on; those already open
        are let go). An API worker sets it below gunicorn's timeout, so no query
        outlives the request that asked for it. SQLite: nothing to do."""
        if not self.is_postgres:
            return
        milliseconds = int(seconds * 1000)

        def on_connect(dbapi_conn: Any, _record: Any) -> None:
            with dbapi_conn.cursor() as cursor:
                cursor.execute(f"SET statement_timeout = {milliseconds}")
            dbapi_conn.commit()  # (a no-op in autocommit; else ends the SET's transaction)

        for engine in {self.engine, self.read_engine}:
            event.listen(engine, "connect", on_connect)
            engine.dispose()

    def dispose(self, close: bool = True) -> None:
        self.session.remove()
        self.engine.dispose(close=close)
        if self.read_engine is not self.engine:
            self.read_engine.dispose(close=close)


# What the drivers raise for a broken unique key when written to directly (bulk
# writes use the raw cursor, so SQLAlchemy does not wrap the error).
DRIVER_INTEGRITY_ERRORS = (sqlite3.IntegrityError, psycopg2.IntegrityError)


def _translate(exc: BaseException) -> BaseException:
    if isinstance(exc, DomainError):
        return exc
    if isinstance(exc, (StoreIntegrityError, sqlalchemy.exc.IntegrityError,
                        *DRIVER_INTEGRITY_ERRORS)):
        return ConcurrentWrite(
            "another change to the same resource was saved first; reload and retry"
        )
    if _sqlite_locked(exc) or _pg_lock_timeout(exc):
        return LedgerBusy("the ledger is busy with another write (a workflow step, an "
                          "import); nothing was written: retry shortly")
    return exc


def _driver_error(exc: BaseException) -> BaseException:
    """The driver's own exception behind one SQLAlchemy wrapped (else ``exc``)."""
    found = exc.orig if isinstance(exc, sqlalchemy.exc.DBAPIError) else exc
    return found if isinstance(found, BaseException) else exc


def statement_timed_out(exc: BaseException) -> bool:
    """PostgreSQL stopped a statement that ran past ``statement_timeout``."""
    return getattr(_driver_error(exc), "pgcode", None) == "57014"  # query_canceled


def _pg_lock_timeout(exc: BaseException) -> bool:
    """PostgreSQL gave up waiting for a lock (``lock_timeout``: the write lock)."""
    return getattr(_driver_error(exc), "pgcode", None) == "55P03"  # lock_not_available


# What SQLite says when the database cannot be used at all, rather than of a statement.
_SQLITE_UNAVAILABLE = ("disk i/o error", "readonly database", "unable to open database",
                       "disk is full", "file is not a database", "database disk image")


def unavailable(exc: BaseException) -> bool:
    """Whether an error says the database cannot be reached or used just now (the
    server is down, restarting, or dropped the connection; an SQLite file that cannot
    be written), as opposed to a fault of the statement."""
    if isinstance(exc, sqlalchemy.exc.DBAPIError) and exc.connection_invalidated:
        return True
    found = _driver_error(exc)
    if isinstance(found, sqlite3.OperationalError):
        said = str(found).lower()
        return any(part in said for part in _SQLITE_UNAVAILABLE)
    return isinstance(found, psycopg2.OperationalError | psycopg2.InterfaceError)


def _sqlite_locked(exc: BaseException) -> bool:
    """SQLite gave up waiting for its write lock (``busy_timeout``)."""
    found = _driver_error(exc)
    return isinstance(found, sqlite3.OperationalError) and "database is locked" in str(found)
