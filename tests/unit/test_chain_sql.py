"""Tests of the chain table, batched readers and append-only guards on SQLite."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import (
    BigInteger,
    Column,
    Engine,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    Text,
    create_engine,
    insert,
    text,
)
from sqlalchemy.exc import DBAPIError
from sqlalchemy_utils import UUIDType

from craton.ledger.chain import Digest, StoredRecord, verify
from craton.ledger.sql import (
    append_links,
    append_only_statements,
    chain_table,
    head_link,
    install_append_only,
    least_privilege_sql,
    link_before,
    load_links,
    load_records,
)


@pytest.fixture(params=[False, True], ids=["char32", "binary16"])
def setup(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Engine, Table, Table]]:
    """Create a file database with a stored_events table and the chain table."""
    engine = create_engine(f"sqlite:///{tmp_path / 'ledger.db'}")
    metadata = MetaData()
    events = Table(
        "stored_events",
        metadata,
        Column(
            "id",
            BigInteger().with_variant(Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        Column("originator_id", UUIDType(binary=request.param), nullable=False),
        Column("originator_version", Integer, nullable=False),
        Column("topic", Text, nullable=False),
        Column("state", LargeBinary, nullable=False),
    )
    chain = chain_table(metadata)
    metadata.create_all(engine)
    yield engine, events, chain
    engine.dispose()


def write_events(engine: Engine, events: Table, chain: Table, count: int, offset: int = 0) -> None:
    """Insert events and their links in one transaction, as the write path does."""
    originator = uuid.UUID(int=42)
    with engine.begin() as connection:
        start = connection.execute(text("SELECT COALESCE(MAX(id), 0) FROM stored_events"))
        first = int(start.scalar_one()) + 1
        records = [
            StoredRecord(
                first + n,
                str(originator),
                offset + n + 1,
                "fleet:Scaled",
                f'{{"n": {offset + n}}}'.encode(),
            )
            for n in range(count)
        ]
        rows = [
            {
                "originator_id": originator,
                "originator_version": r.version,
                "topic": r.topic,
                "state": r.state,
            }
            for r in records
        ]
        connection.execute(insert(events), rows)
        append_links(connection, chain, records)


def test_round_trip_with_paging(setup: tuple[Engine, Table, Table]) -> None:
    engine, events, chain = setup
    write_events(engine, events, chain, 5)
    write_events(engine, events, chain, 4, offset=5)
    with engine.connect() as connection:
        records = list(load_records(connection, batch=2))
        links = list(load_links(connection, chain, batch=3))
        assert [r.position for r in records] == list(range(1, 10))
        assert records[0].originator_id == str(uuid.UUID(int=42))
        assert [link.position for link in links] == list(range(1, 10))
        head = head_link(connection, chain)
        assert head is not None and head == links[-1]
        assert link_before(connection, 4, "ledger_chain") == links[2]
        digest = Digest(head.position, head.hash, "2025-01-01T00:00:00Z")
        records_again = load_records(connection, batch=2)
        report = verify(records_again, load_links(connection), [digest])
        assert report.ok, report.message
        assert report.checked == 9
        middle = list(load_records(connection, start=3, stop=6, batch=2))
        assert [r.position for r in middle] == [3, 4, 5]


def test_append_links_refuses_positions_already_chained(
    setup: tuple[Engine, Table, Table],
) -> None:
    engine, events, chain = setup
    write_events(engine, events, chain, 3)
    with engine.begin() as connection:
        stale = StoredRecord(2, str(uuid.UUID(int=1)), 1, "t", b"")
        with pytest.raises(ValueError, match="already reaches position 3"):
            append_links(connection, chain, [stale])
        assert append_links(connection, chain, []) == []


def test_triggers_refuse_update_and_delete(setup: tuple[Engine, Table, Table]) -> None:
    engine, events, chain = setup
    write_events(engine, events, chain, 3)
    with engine.begin() as connection:
        install_append_only(connection)
        install_append_only(connection)
    refused = [
        "UPDATE stored_events SET state = x'00' WHERE id = 2",
        "DELETE FROM stored_events WHERE id = 2",
        "UPDATE ledger_chain SET hash = 'x' WHERE position = 2",
        "DELETE FROM ledger_chain",
    ]
    for statement in refused:
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
            connection.execute(text(statement))
    write_events(engine, events, chain, 1, offset=3)
    with engine.connect() as connection:
        assert verify(load_records(connection), load_links(connection)).ok


def test_tampering_behind_the_triggers_is_detected(setup: tuple[Engine, Table, Table]) -> None:
    engine, events, chain = setup
    write_events(engine, events, chain, 6)
    with engine.begin() as connection:
        install_append_only(connection)
    with engine.begin() as connection:
        connection.execute(text("DROP TRIGGER stored_events_no_update"))
        connection.execute(text("UPDATE stored_events SET state = x'7b7d' WHERE id = 4"))
    with engine.connect() as connection:
        report = verify(load_records(connection), load_links(connection))
    assert (report.problem, report.position) == ("altered", 4)


def test_postgresql_guards_cover_update_delete_and_truncate() -> None:
    statements = append_only_statements("postgresql")
    joined = "\n".join(statements)
    assert "CREATE OR REPLACE FUNCTION craton_refuse_change()" in joined
    for name in ("stored_events", "ledger_chain"):
        assert f"BEFORE UPDATE OR DELETE ON {name} FOR EACH ROW" in joined
        assert f"BEFORE TRUNCATE ON {name} FOR EACH STATEMENT" in joined
    with pytest.raises(ValueError):
        append_only_statements("sqlite", events_table_name="x; DROP TABLE y")


def test_least_privilege_sql() -> None:
    sql = least_privilege_sql("craton_svc", ["fleet_summary"])
    assert "GRANT SELECT, INSERT ON stored_events, ledger_chain TO craton_svc;" in sql
    assert "GRANT USAGE, SELECT ON SEQUENCE stored_events_id_seq TO craton_svc;" in sql
    assert "GRANT SELECT, INSERT, UPDATE, DELETE ON fleet_summary TO craton_svc;" in sql
    grants = [line for line in sql.splitlines() if line.startswith("GRANT")]
    for line in grants:
        if "stored_events" in line or "ledger_chain" in line:
            assert "DELETE" not in line and "TRUNCATE" not in line
    with pytest.raises(ValueError):
        least_privilege_sql("svc; DROP ROLE admin")
