"""Pooled PostgreSQL connections the server has closed are not handed out again."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text

from craton.bootstrap import Services, bootstrap
from craton.domain.meta import system_meta
from craton.settings import Settings
from tests.conftest import PG_ADMIN_URL, postgres_schema_url

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_services() -> Iterator[Services]:
    for url in postgres_schema_url():
        svc = bootstrap(Settings(database_url=url))
        try:
            yield svc
        finally:
            svc.close()


def _terminate_pooled(svc: Services) -> None:
    """End, from the server's side, every backend the services' pools hold."""
    pids = []
    for engine in (svc.db.engine, svc.db.read_engine):
        with engine.connect() as conn:
            pids.append(conn.exec_driver_sql("SELECT pg_backend_pid()").scalar())
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            for pid in pids:
                assert conn.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid}).scalar()
            conn.execute(text("SELECT pg_sleep(0.2)"))  # the backends say goodbye and go
    finally:
        admin.dispose()


def test_reads_and_writes_go_on_after_the_server_ends_pooled_connections(
        pg_services: Services) -> None:
    svc = pg_services
    project = svc.ledger.register(system_meta(), "project", {"name": "before"})
    _terminate_pooled(svc)
    with svc.db.reading() as conn:  # would fail on the terminated connection
        assert conn.exec_driver_sql("SELECT 1").scalar() == 1
    after = svc.ledger.register(system_meta(), "project", {"name": "after"})
    assert after["id"] > project["id"]
