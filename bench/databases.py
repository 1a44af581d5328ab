"""Scratch databases: created fresh for a figure, or kept as a cached log."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg2

from bench.config import CACHE

PG_HOST = os.environ.get("BENCH_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("BENCH_PG_PORT", "5432"))
PG_USER = os.environ.get("BENCH_PG_USER", "postgres")
PG_ADMIN_DB = os.environ.get("BENCH_PG_DB", "test")


def pg_admin() -> psycopg2.extensions.connection:
    conn = psycopg2.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname=PG_ADMIN_DB)
    conn.autocommit = True
    return conn


def settle(log: Any, patience: float = 180.0) -> None:
    """Let PostgreSQL finish its own background work before a figure is timed: a
    checkpoint now (not in the middle of the figure), then wait while autovacuum
    workers run (a database just written, or just rebuilt, gets vacuumed and
    analysed a little later, on a core the figure would share with it)."""
    import time

    conn = pg_admin()
    try:
        with conn.cursor() as cur:
            cur.execute("CHECKPOINT")
            began = time.monotonic()
            while time.monotonic() - began < patience:
                cur.execute("SELECT count(*) FROM pg_stat_activity "
                            "WHERE backend_type = 'autovacuum worker'")
                if not cur.fetchone()[0]:
                    break
                time.sleep(1.0)
            waited = time.monotonic() - began
            if waited >= 1.0:
                log(f"  (waited {waited:.0f} s for autovacuum to finish)")
    finally:
        conn.close()


def pg_version() -> str:
    return str(_admin("SHOW server_version", fetch=True)[0])


def pg_url(name: str) -> str:
    return f"postgresql+psycopg2://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"


def pg_dsn(name: str) -> dict[str, object]:
    return {"host": PG_HOST, "port": PG_PORT, "user": PG_USER, "dbname": name}


@dataclass(frozen=True)
class Scratch:
    """One database of one kind ("sqlite" or "postgres") under a name."""

    kind: str
    name: str

    @property
    def path(self) -> Path:
        return CACHE / "sqlite" / f"{self.name}.db"

    @property
    def url(self) -> str:
        if self.kind == "sqlite":
            return f"sqlite:///{self.path}"
        return pg_url(self.name)

    def exists(self) -> bool:
        if self.kind == "sqlite":
            return self.path.exists()
        return _admin("SELECT 1 FROM pg_database WHERE datname = %s", (self.name,),
                      fetch=True) is not None

    def drop(self) -> None:
        if self.kind == "sqlite":
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(f"{self.path}{suffix}").unlink(missing_ok=True)
            return
        _admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')

    def create(self) -> Scratch:
        """Drop and create afresh (an empty database)."""
        self.drop()
        if self.kind == "sqlite":
            self.path.parent.mkdir(parents=True, exist_ok=True)
            keep_out_of_git()
            return self
        _admin(f'CREATE DATABASE "{self.name}"')
        return self

    def copy_to(self, name: str) -> Scratch:
        """A copy of this database under another name (nobody may be connected)."""
        target = Scratch(self.kind, name)
        target.drop()
        if self.kind == "sqlite":
            shutil.copyfile(self.path, target.path)
            return target
        _admin(f'CREATE DATABASE "{name}" TEMPLATE "{self.name}"')
        return target

    def size_bytes(self, table: str | None = None) -> int:
        """The database's size, or one table's with its indexes."""
        if self.kind == "sqlite":
            import sqlite3

            conn = sqlite3.connect(self.path)
            try:
                if table is None:  # pages in use: a rebuild leaves the old tables' free
                    pages = conn.execute("PRAGMA page_count").fetchone()[0]
                    free = conn.execute("PRAGMA freelist_count").fetchone()[0]
                    size = conn.execute("PRAGMA page_size").fetchone()[0]
                    return (int(pages) - int(free)) * int(size)
                rows = conn.execute(
                    "SELECT SUM(pgsize) FROM dbstat WHERE name = ? OR name IN "
                    "(SELECT name FROM sqlite_master WHERE tbl_name = ? AND type = 'index')",
                    (table, table)).fetchone()
                return int(rows[0] or 0)
            finally:
                conn.close()
        conn = psycopg2.connect(**pg_dsn(self.name))  # type: ignore[arg-type]
        try:
            with conn.cursor() as cur:
                if table is None:
                    cur.execute("SELECT pg_database_size(current_database())")
                else:
                    cur.execute("SELECT pg_total_relation_size(%s)", (table,))
                return int(cur.fetchone()[0])
        finally:
            conn.close()


def keep_out_of_git() -> None:
    """The cache holds generated databases: never anything to commit."""
    CACHE.mkdir(parents=True, exist_ok=True)
    ignore = CACHE / ".gitignore"
    if not ignore.exists():
        ignore.write_text("*\n")


def _admin(statement: str, params: tuple[Any, ...] = (), fetch: bool = False) -> Any:
    """Run one statement on the PostgreSQL server outside any database of ours."""
    conn = pg_admin()
    try:
        with conn.cursor() as cur:
            cur.execute(statement, params)
            return cur.fetchone() if fetch else None
    finally:
        conn.close()
