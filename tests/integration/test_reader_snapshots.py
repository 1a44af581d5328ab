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
        assert timeline.head(conn) == head
        assert conn.execute(text("SELECT max(position) FROM event_log")).scalar() == head
        assert _hosts(conn) == hosts
    with services.db.reading() as conn:
        assert timeline.head(conn) > head
        assert "later" in _hosts(conn)


def test_a_failed_read_leaves_no_transaction_open(services: Services) -> None:
    make_fleet(services)
    with pytest.raises(DBAPIError), services.db.reading() as conn:
        conn.execute(text("SELECT no_such_column FROM event_log"))
    for _ in range(3):  # the pool's connections all serve a fresh snapshot again
        with services.db.reading() as conn:
            assert timeline.head(conn) > 0
            assert _hosts(conn) == ["host-1"]
    if services.db.is_postgres:
        with services.db.read_engine.connect() as conn:
            idle_in_tx = conn.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND state LIKE 'idle in transaction%'")).scalar()
        assert idle_in_tx == 0


def test_a_snapshot_whose_first_query_fails_leaves_its_connection_usable(
        services: Services) -> None:
    """PostgreSQL begins the snapshot with the head's query: if that fails (a cancel,
    a timeout), the begun transaction is rolled back before the pool has it again."""
    make_fleet(services)
    good = services.db.read_on_begin
    services.db.read_on_begin = "SELECT 1/0" if services.db.is_postgres else None
    try:
        if services.db.is_postgres:
            with pytest.raises(DBAPIError), services.db.reading():
                pass
    finally:
        services.db.read_on_begin = good
    for _ in range(3):
        with services.db.reading() as conn:
            assert _hosts(conn) == ["host-1"]
