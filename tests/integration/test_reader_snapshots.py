"""A reader sees one snapshot, whatever commits meanwhile, and leaves none open."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from craton.bootstrap import Services
from craton.projections import listing, timeline
from tests.conftest import make_fleet


def _hosts(conn: Connection) -> list[str]:
    rows, _ = listing.list_rows(conn, listing.ListQuery(kinds=("host",), limit=100))
    return [r.name for r in rows]


def test_a_read_keeps_its_snapshot_while_a_write_commits(services: Services) -> None:
    f = make_fleet(services)
    led, meta = services.ledger, f["meta"]
    with services.db.reading() as conn:
        head, hosts = timeline.head(conn), _hosts(conn)

        def write() -> None:  # another thread: its own write transaction
            led.register(meta, "host", {"name": "later", "region_id": f["region"]["id"]})

        writer = threading.Thread(target=write)
        writer.start()
        writer.join()
        assert conn.execute(text("SELECT max(position) FROM event_log")).scalar() == head
        assert _hosts(conn) == hosts
    with services.db.reading() as conn:
        assert timeline.head(conn) > head
        assert "later" in _hosts(conn)


def test_a_failed_read_leaves_no_transaction_open(services: Services) -> None:
    make_fleet(services)
    pid = None
    with pytest.raises(DBAPIError), services.db.reading() as conn:
        if services.db.is_postgres:
            pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
        conn.execute(text("SELECT no_such_column FROM event_log"))
    if pid is not None:  # the failed read's connection, back in the pool, is idle
        with services.db.engine.connect() as conn:
            state = conn.execute(text(
                "SELECT state FROM pg_stat_activity WHERE pid = :p"), {"p": pid}).scalar()
        assert state == "idle"
    for _ in range(3):  # the pool's connections all serve a fresh snapshot again
        with services.db.reading() as conn:
            assert timeline.head(conn) > 0
            assert _hosts(conn) == ["host-1"]


def test_a_snapshot_whose_first_query_fails_leaves_its_connection_usable(
        services: Services) -> None:
    """PostgreSQL begins the snapshot with the head's query: if that fails (a cancel,
    a timeout), the begun transaction is rolled back before the pool has it again."""
    if not services.db.is_postgres:
        pytest.skip("only PostgreSQL reads the head in the round trip that begins")
    make_fleet(services)
    good = services.db.read_on_begin
    services.db.read_on_begin = "SELECT 1/0"
    try:
        with pytest.raises(DBAPIError), services.db.reading():
            pass
    finally:
        services.db.read_on_begin = good
    for _ in range(3):
        with services.db.reading() as conn:
            assert _hosts(conn) == ["host-1"]
