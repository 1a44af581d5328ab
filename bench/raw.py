"""The raw transaction a change costs at least: lock the event table, insert two rows, commit."""

from __future__ import annotations

import os
import sqlite3
import threading
import uuid
from collections.abc import Callable
from typing import Any

import psycopg2

from bench.databases import Scratch, pg_dsn
from bench.stats import now

STATE = os.urandom(400)  # about the size of a serialised change event

PG_TABLE = """CREATE TABLE raw_events (
    id BIGSERIAL PRIMARY KEY, originator_id UUID NOT NULL,
    originator_version INTEGER NOT NULL, topic TEXT NOT NULL, state BYTEA NOT NULL,
    UNIQUE (originator_id, originator_version))"""
SQLITE_TABLE = """CREATE TABLE raw_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT, originator_id BLOB NOT NULL,
    originator_version INTEGER NOT NULL, topic TEXT NOT NULL, state BLOB NOT NULL,
    UNIQUE (originator_id, originator_version))"""
NAME = "craton_bench_raw"
INSERT = ("INSERT INTO raw_events (originator_id, originator_version, topic, state) "
          "VALUES ({p}, {p}, {p}, {p})")


class RawStore:
    """A scratch database with an event table of the same shape as the ledger's."""

    def __init__(self, kind: str, create: bool = True):
        self.kind = kind
        self.db = Scratch(kind, NAME)
        if not create:
            return
        self.db.create()
        conn = self.connect()
        cur = conn.cursor()
        cur.execute(PG_TABLE if kind == "postgres" else SQLITE_TABLE)
        if kind == "postgres":
            conn.commit()
        conn.close()

    @classmethod
    def existing(cls, kind: str) -> RawStore:
        """The store another process created (a baseline server's worker, say)."""
        return cls(kind, create=False)

    def connect(self) -> Any:
        if self.kind == "postgres":
            return psycopg2.connect(**pg_dsn(self.db.name))  # type: ignore[arg-type]
        conn = sqlite3.connect(self.db.path, isolation_level=None, check_same_thread=False,
                               timeout=30)
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "busy_timeout=30000"):
            conn.execute(f"PRAGMA {pragma}")
        return conn

    def transaction(self) -> Callable[[], None]:
        """One client: a callable that makes one change of the raw shape."""
        conn = self.connect()
        cur = conn.cursor()
        version = [0]
        ident = uuid.uuid4()
        if self.kind == "postgres":
            sql = INSERT.format(p="%s")

            def pg() -> None:
                version[0] += 2
                cur.execute("LOCK TABLE raw_events IN EXCLUSIVE MODE")
                cur.execute(sql, (str(ident), version[0], "Host.VariablesSet", STATE))
                cur.execute(sql, (str(ident), version[0] + 1, "chain", STATE[:64]))
                conn.commit()
            return pg
        sql = INSERT.format(p="?")

        def lite() -> None:
            version[0] += 2
            cur.execute("BEGIN IMMEDIATE")
            cur.execute(sql, (ident.bytes, version[0], "Host.VariablesSet", STATE))
            cur.execute(sql, (ident.bytes, version[0] + 1, "chain", STATE[:64]))
            cur.execute("COMMIT")
        return lite

    def drop(self) -> None:
        self.db.drop()


def concurrent(make_client: Callable[[], Callable[[], Any]], clients: int, seconds: float
               ) -> tuple[int, float]:
    """Calls completed by ``clients`` threads in ``seconds``, and the time it took."""
    done = [0] * clients
    errors: list[BaseException] = []
    stop = threading.Event()
    workers = [make_client() for _ in range(clients)]

    def loop(i: int) -> None:
        try:
            while not stop.is_set():
                workers[i]()
                done[i] += 1
        except BaseException as exc:  # reported once the others stop
            errors.append(exc)

    threads = [threading.Thread(target=loop, args=(i,)) for i in range(clients)]
    start = now()
    for t in threads:
        t.start()
    stop.wait(seconds)
    stop.set()
    for t in threads:
        t.join()
    elapsed = now() - start
    if errors:
        raise errors[0]
    return sum(done), elapsed
