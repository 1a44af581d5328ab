"""A database that cannot be reached is a 503 to retry, not a 500; and a write waits
for the write lock a bounded time on PostgreSQL too, then is refused as busy."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

import falcon.testing
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

import craton.db
from craton.api import create_app
from craton.api.auth import create_root
from craton.bootstrap import bootstrap
from craton.db import unavailable
from craton.domain.errors import LedgerBusy
from craton.domain.meta import system_meta
from craton.projections import timeline
from craton.settings import Settings
from tests.conftest import PG_ADMIN_URL, postgres_database_url, write_lock_held

from .conftest import Caller, ok


@pytest.fixture
def own_database() -> Iterator[str]:
    """A PostgreSQL database of its own (it is closed to connections while tested)."""
    yield from postgres_database_url()


def _close(url: str, closed: bool) -> None:
    """Refuse (or allow again) every connection to the database, dropping those open."""
    name = make_url(url).database
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS '
                              f'{"false" if closed else "true"}'))
            if closed:
                conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                  "WHERE datname = :name"), {"name": name})
    finally:
        admin.dispose()


@pytest.mark.postgres
def test_an_unreachable_database_is_a_503_to_retry_and_then_recovers(own_database: str):
    svc = bootstrap(Settings(database_url=own_database))
    try:
        root = Caller(falcon.testing.TestClient(create_app(svc)),
                      {"Authorization": f"Bearer {create_root(svc)}"})
        ok(root.get("/v1/projects"))
        _close(own_database, True)
        try:
            for answer in (root.get("/v1/projects"),
                           root.post("/v1/projects", json={"name": "during"})):
                assert answer.status_code == 503, answer.text
                assert answer.headers["Retry-After"] == "5"
                assert answer.json["message"] == ("the database is unavailable just now: "
                                                  "retry shortly")
        finally:
            _close(own_database, False)
        names = [p["name"] for p in ok(root.get("/v1/projects"))["projects"]]
        assert "during" not in names
        ok(root.post("/v1/projects", json={"name": "after"}), 201)
    finally:
        svc.close()


def test_what_says_a_database_cannot_be_used_is_told_from_a_fault_of_a_statement(tmp_path):
    with pytest.raises(sqlite3.OperationalError) as cannot_open:
        sqlite3.connect(tmp_path / "missing" / "craton.db").execute("SELECT 1")
    assert unavailable(cannot_open.value)
    with pytest.raises(sqlite3.OperationalError) as no_table:
        sqlite3.connect(":memory:").execute("SELECT * FROM nowhere")
    assert not unavailable(no_table.value)


@pytest.mark.postgres
def test_a_write_waits_for_a_held_write_lock_a_bounded_time_then_is_busy(
        own_database: str, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(craton.db, "WRITE_WAIT_S", 0.3)
    svc = bootstrap(Settings(database_url=own_database))
    try:
        with write_lock_held(svc) as release:
            with svc.db.reading() as conn:
                before = timeline.head(conn)
            with pytest.raises(LedgerBusy, match="busy with another write"):
                svc.ledger.register(system_meta(), "project", {"name": "waits"})
            release.set()
        with svc.db.reading() as conn:
            assert timeline.head(conn) == before  # nothing was written
        svc.ledger.register(system_meta(), "project", {"name": "after"})  # the lock is free
    finally:
        svc.close()

class _Slow:
    """A resource whose query runs past the statement limit."""

    public = True

    def __init__(self, svc: Any):
        self.svc = svc

    def on_get(self, req: Any, resp: Any) -> None:
        with self.svc.db.reading() as conn:
            conn.execute(text("SELECT pg_sleep(5)"))


@pytest.mark.postgres
def test_a_query_past_the_statement_limit_is_stopped_and_told(own_database: str):
    svc = bootstrap(Settings(database_url=own_database))
    try:
        svc.db.limit_statements(0.3)
        app = create_app(svc)
        app.add_route("/slow", _Slow(svc))
        answer = falcon.testing.TestClient(app).simulate_get("/slow")
        assert answer.status_code == 503, answer.text
        assert "ran past the server's time limit" in answer.json["message"]
        with svc.db.reading() as conn:  # a quick statement still runs
            assert conn.execute(text("SELECT 1")).scalar() == 1
    finally:
        svc.close()
