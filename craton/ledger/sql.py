"""SQL helpers: the chain table, batched readers and append-only guards."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    CHAR,
    BigInteger,
    Column,
    ColumnElement,
    Connection,
    Integer,
    LargeBinary,
    MetaData,
    Row,
    Select,
    Table,
    case,
    cast,
    column,
    func,
    select,
    table,
    text,
)
from sqlalchemy.sql.expression import TableClause

from craton.db import piggyback_text
from craton.ledger.chain import GENESIS
from craton.ledger.records import (
    ChainLink,
    StoredRecord,
    extend,
    normalised_record,
    sqlite_record,
)
from craton.projections.bulk import Pending, insert_rows

APPEND_ONLY_MESSAGE = "the event log is append-only"
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


def _ident(name: str) -> str:
    """Return name if it is a plain SQL identifier, else raise ValueError."""
    if not _IDENTIFIER.match(name):
        raise ValueError(f"not a plain SQL identifier: {name!r}")
    return name


def chain_table(metadata: MetaData, name: str = "ledger_chain") -> Table:
    """Define the chain table (position, hash) on the metadata."""
    return Table(
        name,
        metadata,
        Column(
            "position",
            BigInteger().with_variant(Integer(), "sqlite"),
            primary_key=True,
            autoincrement=False,
        ),
        Column("hash", CHAR(64), nullable=False),
    )


def _links_clause(name: str | Table) -> Table | TableClause:
    """Return a selectable for the chain table given as Table or name."""
    if isinstance(name, Table):
        return name
    return table(_ident(name), column("position"), column("hash"))


@lru_cache(maxsize=16)  # a few sets of tables: the live ones, a rebuild's
def _head_query(chain: str | Table) -> Select[Any]:
    links = _links_clause(chain)
    return select(links.c.position, links.c.hash).order_by(links.c.position.desc()).limit(1)


def chain_head_text(chain: str | Table) -> str:
    """The head query as SQL text, to send in another statement's round trip."""
    return piggyback_text(_head_query(chain))


def as_link(row: Any) -> ChainLink | None:
    """A (position, hash) row as a link; None for no row (an empty chain)."""
    return None if row is None else ChainLink(int(row[0]), str(row[1]))


def head_link(connection: Connection, chain: str | Table = "ledger_chain") -> ChainLink | None:
    """Return the last link of the chain, or None when it is empty."""
    return as_link(connection.execute(_head_query(chain)).first())


HEAD_UNREAD: Any = object()  # append_links reads the head itself


def link_before(
    connection: Connection, position: int, chain: str | Table = "ledger_chain"
) -> ChainLink | None:
    """Return the last link strictly before position, or None."""
    links = _links_clause(chain)
    query = (
        select(links.c.position, links.c.hash)
        .where(links.c.position < position)
        .order_by(links.c.position.desc())
        .limit(1)
    )
    row = connection.execute(query).first()
    return None if row is None else ChainLink(int(row[0]), str(row[1]))


def append_links(
    connection: Connection, chain: Table, records: Iterable[StoredRecord],
    pending: Pending | None = None, head: ChainLink | None = HEAD_UNREAD,
) -> list[ChainLink]:
    """Chain new records after the head and insert their links in one batch.

    ``head`` is the chain's head if the caller read it in this transaction
    (None: the chain is empty); ``pending`` holds the insert for a later round trip.
    """
    ordered = sorted(records, key=lambda r: r.position)
    if not ordered:
        return []
    if head is HEAD_UNREAD:
        head = head_link(connection, chain)
    if head is not None and ordered[0].position <= head.position:
        raise ValueError(
            f"cannot chain position {ordered[0].position}: the chain already reaches "
            f"position {head.position}"
        )
    links = extend(GENESIS if head is None else head.hash, ordered)
    insert_rows(connection, chain, [{"position": link.position, "hash": link.hash}
                                    for link in links], pending)
    return links


def _events_clause(name: str) -> TableClause:
    """Return a lightweight selectable for the stored events table."""
    return table(
        _ident(name),
        column("id"),
        column("originator_id"),
        column("originator_version"),
        column("topic"),
        column("state"),
    )


def _paged(
    connection: Connection,
    query: Select[Any],
    key: ColumnElement[Any],
    start: int | None,
    stop: int | None,
    batch: int,
) -> Iterator[Row[Any]]:
    """Yield the rows of query with start <= key < stop in key order, a batch at a time."""
    after = None if start is None else start - 1
    while True:
        page = query
        if after is not None:
            page = page.where(key > after)
        if stop is not None:
            page = page.where(key < stop)
        rows = connection.execute(page.order_by(key).limit(batch)).all()
        yield from rows
        if len(rows) < batch:
            return
        after = int(rows[-1][0])


def load_records(
    connection: Connection,
    events_table_name: str = "stored_events",
    start: int | None = None,
    stop: int | None = None,
    batch: int = 10000,
) -> Iterator[StoredRecord]:
    """Yield stored events with start <= position < stop in order, a batch at a time.

    A row whose columns are not of the log's types (changed behind the triggers'
    back) comes as an UnreadableRecord, for verification to report at its position.
    """
    events = _events_clause(events_table_name)
    if connection.dialect.name == "sqlite":
        query = select(events.c.id, *_typed_sqlite_columns(events))
        for row in _paged(connection, query, events.c.id, start, stop, batch):
            yield sqlite_record(int(row[0]), tuple(row[1:]))
        return
    query = select(
        events.c.id,
        events.c.originator_id,
        events.c.originator_version,
        events.c.topic,
        events.c.state,
    )
    for row in _paged(connection, query, events.c.id, start, stop, batch):
        yield normalised_record(row[0], row[1], row[2], row[3], row[4])


def _typed_sqlite_columns(events: TableClause) -> list[ColumnElement[Any]]:
    """Each column as its bytes (a whole number as itself) beside its stored type."""
    version = events.c.originator_version
    return [
        cast(events.c.originator_id, LargeBinary), func.typeof(events.c.originator_id),
        case((func.typeof(version) == "integer", version)), func.typeof(version),
        cast(events.c.topic, LargeBinary), func.typeof(events.c.topic),
        cast(events.c.state, LargeBinary), func.typeof(events.c.state),
    ]


def load_links(
    connection: Connection,
    chain: str | Table = "ledger_chain",
    start: int | None = None,
    stop: int | None = None,
    batch: int = 10000,
) -> Iterator[ChainLink]:
    """Yield chain links with start <= position < stop in order, a batch at a time."""
    links = _links_clause(chain)
    query = select(links.c.position, links.c.hash)
    for row in _paged(connection, query, links.c.position, start, stop, batch):
        yield ChainLink(int(row[0]), str(row[1]))


def _sqlite_guards(tables: Sequence[str]) -> list[str]:
    """Return the SQLite trigger statements refusing UPDATE and DELETE."""
    statements = []
    for name in tables:
        for action in ("UPDATE", "DELETE"):
            statements.append(
                f"CREATE TRIGGER IF NOT EXISTS {name}_no_{action.lower()} "
                f"BEFORE {action} ON {name} "
                f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}'); END"
            )
    return statements


def _postgresql_guards(tables: Sequence[str]) -> list[str]:
    """Return the PostgreSQL function and triggers refusing UPDATE, DELETE, TRUNCATE."""
    statements = [
        "CREATE OR REPLACE FUNCTION craton_refuse_change() RETURNS trigger "
        "LANGUAGE plpgsql AS $$ BEGIN "
        f"RAISE EXCEPTION '{APPEND_ONLY_MESSAGE}: % on % refused', TG_OP, TG_TABLE_NAME "
        "USING ERRCODE = 'insufficient_privilege'; "
        "END $$"
    ]
    for name in tables:
        statements += [
            f"DROP TRIGGER IF EXISTS {name}_no_change ON {name}",
            f"CREATE TRIGGER {name}_no_change BEFORE UPDATE OR DELETE ON {name} "
            "FOR EACH ROW EXECUTE FUNCTION craton_refuse_change()",
            f"DROP TRIGGER IF EXISTS {name}_no_truncate ON {name}",
            f"CREATE TRIGGER {name}_no_truncate BEFORE TRUNCATE ON {name} "
            "FOR EACH STATEMENT EXECUTE FUNCTION craton_refuse_change()",
        ]
    return statements


def append_only_statements(
    dialect: str,
    events_table_name: str = "stored_events",
    chain_table_name: str = "ledger_chain",
) -> list[str]:
    """Return the DDL that makes the event and chain tables append-only."""
    tables = [_ident(events_table_name), _ident(chain_table_name)]
    if dialect == "sqlite":
        return _sqlite_guards(tables)
    if dialect == "postgresql":
        return _postgresql_guards(tables)
    raise NotImplementedError(f"no append-only guard for the {dialect} dialect")


def install_append_only(
    connection: Connection,
    events_table_name: str = "stored_events",
    chain_table_name: str = "ledger_chain",
) -> None:
    """Install (idempotently) triggers refusing changes to the event and chain tables."""
    dialect = connection.dialect.name
    for statement in append_only_statements(dialect, events_table_name, chain_table_name):
        connection.execute(text(statement))


def least_privilege_sql(
    role: str,
    read_model_tables: Sequence[str] = (),
    events_table_name: str = "stored_events",
    chain_table_name: str = "ledger_chain",
) -> str:
    """Return PostgreSQL GRANT statements for the service role."""
    role = _ident(role)
    events = _ident(events_table_name)
    chain = _ident(chain_table_name)
    lines = [
        f"-- Privileges of the service role {role}. The tables are owned by another role,",
        "-- so the service cannot drop the append-only triggers.",
        f"REVOKE ALL ON {events}, {chain} FROM {role};",
        f"GRANT SELECT, INSERT ON {events}, {chain} TO {role};",
        f"GRANT USAGE, SELECT ON SEQUENCE {events}_id_seq TO {role};",
        "-- eventsourcing-sqlalchemy takes LOCK TABLE ... IN EXCLUSIVE MODE on the events",
        "-- table, which PostgreSQL allows only with UPDATE, DELETE or TRUNCATE",
        "-- (or MAINTAIN from PostgreSQL 17). UPDATE is granted for the lock alone:",
        "-- the append-only trigger refuses every UPDATE.",
        f"GRANT UPDATE ON {events} TO {role};",
    ]
    tables = [_ident(name) for name in read_model_tables]
    if tables:
        listed = ", ".join(tables)
        lines.append(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {listed} TO {role};")
    return "\n".join(lines) + "\n"
