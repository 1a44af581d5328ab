"""A write-behind view of the versioned tables for one batch of events.

Current rows are read once per batch; closing and opening rows happens in
memory; ``flush`` then closes the rows that existed before the batch (one
executemany) and inserts every new row (one executemany per table), so a
batch costs a handful of statements whatever its size.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, Table

from craton import codec
from craton.batches import pieces
from craton.projections import lateness
from craton.projections.bulk import Pending, close_rows, insert_rows, touch_rows
from craton.projections.documents import Documents
from craton.projections.pages import of_resources
from craton.projections.tables import Tables

Row = dict[str, Any]


def dump_value(value: Any) -> str:
    """The canonical JSON text a variable or fact value is stored and matched as."""
    return codec.canonical(value)


def load_value(text: str) -> Any:
    """A stored value back."""
    return codec.loads(text)


class KeyedRows:
    """Current rows of one key/value table, per resource: what changes them.

    Subclasses say where current rows come from (``load``) and what becomes of
    a row closed (``close``) or opened (``keep``).
    """

    def __init__(self, table: Table, key: str):
        self.table, self.key = table, key
        self.current: dict[int, dict[Any, Row]] = {}

    def load(self, resource_ids: list[int]) -> None:
        for rid in resource_ids:
            self.current.setdefault(rid, {})

    def of(self, resource_id: int) -> dict[Any, Row]:
        rows = self.current.get(resource_id)
        if rows is None:
            self.load([resource_id])
            rows = self.current[resource_id]
        return rows

    def close(self, row: Row, position: int, time: datetime) -> None:
        row["valid_to"], row["to_time"] = position, time

    def keep(self, row: Row) -> None:
        """A row opened by ``put``."""

    def put(self, resource_id: int, key: Any, extra: dict[str, Any],
            position: int, time: datetime) -> None:
        rows = self.of(resource_id)
        old = rows.get(key)
        if old is not None:
            self.close(old, position, time)
        row = rows[key] = {"resource_id": resource_id, self.key: key, **extra,
                           "valid_from": position, "valid_to": None,
                           "from_time": time, "to_time": None}
        self.keep(row)

    def drop(self, resource_id: int, key: Any, position: int, time: datetime) -> None:
        old = self.of(resource_id).pop(key, None)
        if old is not None:
            self.close(old, position, time)


class KeyedSet(KeyedRows):
    """Current rows read from the table on demand; closed and new rows written at flush."""

    def __init__(self, conn: Connection, table: Table, key: str):
        super().__init__(table, key)
        self.conn = conn
        self.new: list[Row] = []
        self.closed: list[Row] = []

    def load(self, resource_ids: list[int]) -> None:
        missing = [r for r in resource_ids if r not in self.current]
        for chunk in pieces(missing, 500):
            for rid in chunk:
                self.current[rid] = {}
            rows = self.conn.execute(_live(self.table, "resource_id"), {"ids": chunk}).mappings()
            for row in rows:
                self.current[row["resource_id"]][row[self.key]] = dict(row)

    def close(self, row: Row, position: int, time: datetime) -> None:
        super().close(row, position, time)
        if "row_id" in row:
            self.closed.append(row)

    def keep(self, row: Row) -> None:
        self.new.append(row)

    def flush(self, pending: Pending | None = None) -> None:
        flush_rows(self.conn, self.table, self.closed, self.new, pending)
        self.closed, self.new, self.current = [], [], {}


def flush_rows(conn: Connection, table: Table, closed: list[Row], new: list[Row],
               pending: Pending | None = None) -> None:
    """Close pre-existing rows, then insert new ones (closing first frees unique keys)."""
    close_rows(conn, table, closed, pending)
    insert_rows(conn, table, new, pending)


def _live(table: Table, key: str) -> Select[Any]:
    """Every column of the live rows whose ``key`` is in ``:ids``."""
    return of_resources(table, None, key, False)


class Batch:
    """Every table's pending changes for one batch of events."""

    def __init__(self, conn: Connection, tables: Tables):
        self.conn, self.tables = conn, tables
        self.by_uuid: dict[str, Row] = {}
        self.new_resources: list[Row] = []
        self.closed_resources: list[Row] = []
        self.touched: dict[int, Row] = {}  # rows stored before the batch, moved on in place
        self.variables = KeyedSet(conn, tables.variables, "key")
        self.facts = KeyedSet(conn, tables.facts, "key")
        self.labels = KeyedSet(conn, tables.labels, "label")
        self.members = KeyedSet(conn, tables.members, "group_id")
        self.documents = Documents(self.labels, self.variables)
        self.events: list[Row] = []

    def preload(self, uuids: list[str]) -> None:
        """Read the current rows of these resources in a few round trips."""
        t = self.tables.resources
        missing = [u for u in dict.fromkeys(uuids) if u not in self.by_uuid]
        for chunk in pieces(missing, 500):
            rows = self.conn.execute(_live(t, "uuid"), {"ids": chunk}).mappings()
            for row in rows:
                self.by_uuid[row["uuid"]] = dict(row)

    def resource(self, uuid: str) -> Row | None:
        if uuid not in self.by_uuid:
            self.preload([uuid])
        return self.by_uuid.get(uuid)

    def open_resource(self, row: Row) -> None:
        self.by_uuid[row["uuid"]] = row
        self.new_resources.append(row)

    def close_resource(self, row: Row, position: int, time: datetime) -> None:
        self.documents.settle(row)
        row["valid_to"], row["to_time"] = position, time
        if "row_id" in row:
            self.closed_resources.append(row)

    def touch_resource(self, row: Row) -> None:
        """``row``'s version and update time moved on (a row opened in this batch is
        inserted with them; one stored before is updated)."""
        if "row_id" in row:
            self.touched[row["row_id"]] = row

    def flush(self, held: Pending | None = None) -> None:
        """Write the batch; ``held`` is a round trip the caller already holds writes in
        (sent here, with these), else one is opened (PostgreSQL) for these alone."""
        for row in (*self.touched.values(), *self.new_resources):
            if row["valid_to"] is None:
                self.documents.settle(row)
        with Pending.held(self.conn, held) as pending:  # every small write, one round trip
            touch_rows(self.conn, self.tables.resources, list(self.touched.values()),
                       pending)
            flush_rows(self.conn, self.tables.resources, self.closed_resources,
                       self.new_resources, pending)
            for keyed in (self.variables, self.facts, self.labels, self.members):
                keyed.flush(pending)
            insert_rows(self.conn, self.tables.events, self.events, pending)
            lateness.record(self.conn, self.tables, self.events, pending)
            if pending is not None:
                pending.send()
        self.closed_resources, self.new_resources, self.events = [], [], []
        self.touched, self.by_uuid = {}, {}
