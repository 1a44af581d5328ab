"""Creating the schema, once, before several processes start."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, inspect, select, text

from craton.application import Ledger
from craton.db import EVENTS_TABLE, Database
from craton.ledger.sql import chain_table, install_append_only
from craton.projections.tables import LIVE, SCHEMA_VERSION, Tables

CHAIN = chain_table(LIVE.metadata)
INIT_LOCK = 7_246_001  # advisory lock key guarding schema creation on PostgreSQL
# Advisory lock key held by a replay on PostgreSQL (``replay.replay_lock``), with the
# schema's oid as the second key: one replay at a time per ledger.
REPLAY_LOCK = 7_246_002


@contextmanager
def _init_lock(db: Database) -> Iterator[Connection]:
    with db.engine.connect() as conn:
        if db.is_postgres:
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": INIT_LOCK})
            conn.commit()
        try:
            yield conn
        finally:
            if db.is_postgres:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": INIT_LOCK})
                conn.commit()


def is_initialised(db: Database) -> bool:
    return inspect(db.engine).has_table(LIVE.state.name)


def stored_schema_version(conn: Connection, tables: Tables = LIVE) -> int | None:
    return conn.execute(
        select(tables.state.c.value).where(tables.state.c.name == "schema_version")
    ).scalar()


def initialise(db: Database, ledger: Ledger) -> bool:
    """Create every table Craton needs; returns True if it created them.

    Serialised by an advisory lock on PostgreSQL, so processes that start
    together against a fresh database do not race to create tables.
    """
    with _init_lock(db) as conn:
        if inspect(conn).has_table(LIVE.state.name):
            return False
        record_table = ledger.recorder.events_record_cls.__table__  # type: ignore[attr-defined]
        record_table.create(conn, checkfirst=True)
        if ledger.snapshots is not None:  # long-lived aggregates load from a snapshot
            snapshots = ledger.snapshots.recorder.events_record_cls.__table__  # type: ignore[attr-defined]
            snapshots.create(conn, checkfirst=True)
        LIVE.metadata.create_all(conn)
        CHAIN.create(conn, checkfirst=True)
        install_append_only(conn, EVENTS_TABLE, CHAIN.name)
        conn.execute(LIVE.state.insert(), [{"name": "schema_version", "value": SCHEMA_VERSION}])
        conn.commit()
        return True
