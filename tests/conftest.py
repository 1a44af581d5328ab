"""Fixtures shared by every tier: databases, services, actors."""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from craton.bootstrap import Services, bootstrap
from craton.domain.meta import Meta, system_meta
from craton.settings import Settings

PG_ADMIN_URL = os.environ.get(
    "CRATON_TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test")


def _postgres_reachable() -> str | None:
    try:
        engine = create_engine(PG_ADMIN_URL)
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as exc:  # any failure means: no PostgreSQL here
        return str(exc).splitlines()[0]


def require_postgres() -> None:
    """Skip without PostgreSQL, except under CI=true, where its absence is a failure."""
    problem = _postgres_reachable()
    if problem is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"PostgreSQL is required under CI but unreachable: {problem}")
    pytest.skip(f"PostgreSQL unreachable: {problem}")


def postgres_schema_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL schema for one test, dropped afterwards."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    yield from _scratch(f"CREATE SCHEMA {schema}", f"DROP SCHEMA {schema} CASCADE",
                        f"{PG_ADMIN_URL}?options=-csearch_path%3D{schema}")


def postgres_database_url() -> Iterator[str]:
    """A fresh PostgreSQL database of its own for one test (one it may close to
    connections, say), dropped afterwards."""
    name = f"craton_t_{uuid.uuid4().hex[:10]}"
    yield from _scratch(f'CREATE DATABASE "{name}"',
                        f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)',
                        make_url(PG_ADMIN_URL).set(database=name)
                        .render_as_string(hide_password=False))


def _scratch(create: str, drop: str, url: str) -> Iterator[str]:
    """``url`` once ``create`` has run on the server, and ``drop`` after the test."""
    require_postgres()
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(create))
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(drop))
        admin.dispose()


@contextmanager
def write_lock_held(svc: Services) -> Iterator[threading.Event]:
    """Another thread holds the ledger's write lock (as a long import does) until the
    event this yields is set, or the block ends."""
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        with svc.db.writing():
            holding.set()
            release.wait(60)

    thread = threading.Thread(target=hold)
    thread.start()
    try:
        assert holding.wait(30), "the write lock was not taken"
        yield release
    finally:
        release.set()
        thread.join()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The same test on an SQLite file and on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'craton.db'}"
    else:
        yield from postgres_schema_url()


@pytest.fixture
def services(database_url: str) -> Iterator[Services]:
    svc = bootstrap(Settings(database_url=database_url))
    yield svc
    svc.close()


@pytest.fixture
def memory_services() -> Iterator[Services]:
    """Services on an in-memory SQLite database (the unit tier)."""
    svc = bootstrap(Settings(database_url="sqlite://"))
    yield svc
    svc.close()


def make_fleet(svc: Services) -> dict[str, object]:
    """A small project with one cloud, region, cell and host; returns ids and an actor."""
    project = svc.ledger.register(system_meta(), "project", {"name": "acme"})
    meta = Meta(actor_id=1, actor_name="alice", source="api",
                project_id=str(project["uuid"]), reason="setup")
    cloud = svc.ledger.register(meta, "cloud", {"name": "cloud-1"})
    region = svc.ledger.register(meta, "region", {"name": "region-1", "cloud_id": cloud["id"]})
    cell = svc.ledger.register(meta, "cell", {"name": "cell-1", "region_id": region["id"]})
    host = svc.ledger.register(meta, "host", {
        "name": "host-1", "region_id": region["id"], "cell_id": cell["id"]})
    return {"project": project, "meta": meta, "cloud": cloud, "region": region,
            "cell": cell, "host": host}
