"""The current rows of a whole replay, held in memory; each row written once, finished.

A live write reads the current rows it changes, then closes them with an
UPDATE and inserts their successors. A replay starts from empty tables and
sees every event, so it can keep every current row in memory instead: a row
is written only when its successor closes it (``valid_to`` then known) and
the rows still current are written at the end. Nothing is read back and
nothing is updated; every write is an append of finished rows (``COPY`` on
PostgreSQL). Memory grows with the size of the fleet, not with the log.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import Table

from craton.projections.bulk import Insert, prepare_insert
from craton.projections.documents import Documents
from craton.projections.rows import KeyedRows
from craton.projections.tables import Tables

Row = dict[str, Any]
CHUNK = 20_000  # rows per insert when the current rows are written at the end


class HeldSet(KeyedRows):
    """Current rows of one key/value table, by resource, for a whole replay.

    Nothing is read (every current row is already here); a closed row is
    finished and waits to be written.
    """

    def __init__(self, table: Table, key: str):
        super().__init__(table, key)
        self.finished: list[Row] = []

    def close(self, row: Row, position: int, time: datetime) -> None:
        super().close(row, position, time)
        self.finished.append(row)

    def take_finished(self) -> list[Row]:
        rows, self.finished = self.finished, []
        return rows

    def still_current(self) -> Iterator[Row]:
        for rows in self.current.values():
            yield from rows.values()


class HeldBatch:
    """Every table's rows for a whole replay; ``flush`` writes what is finished."""

    def __init__(self, tables: Tables):
        self.tables = tables
        self.by_uuid: dict[str, Row] = {}
        self.finished_resources: list[Row] = []
        self.variables = HeldSet(tables.variables, "key")
        self.facts = HeldSet(tables.facts, "key")
        self.labels = HeldSet(tables.labels, "label")
        self.members = HeldSet(tables.members, "group_id")
        self.documents = Documents(self.labels, self.variables)
        self.events: list[Row] = []

    @property
    def keyed(self) -> tuple[HeldSet, ...]:
        return (self.variables, self.facts, self.labels, self.members)

    def preload(self, uuids: list[str]) -> None:
        """Nothing to read: every current row is already here."""

    def resource(self, uuid: str) -> Row | None:
        return self.by_uuid.get(uuid)

    def open_resource(self, row: Row) -> None:
        self.by_uuid[row["uuid"]] = row

    def touch_resource(self, row: Row) -> None:
        """Nothing to do: the row moved on in place is written when it is finished."""

    def close_resource(self, row: Row, position: int, time: datetime) -> None:
        self.documents.settle(row)
        row["valid_to"], row["to_time"] = position, time
        self.finished_resources.append(row)
        if self.by_uuid.get(row["uuid"]) is row:
            del self.by_uuid[row["uuid"]]

    def take(self) -> list[tuple[Table, list[Row]]]:
        """The finished rows and logged events so far, by table, handed over once."""
        out = [(self.tables.resources, self.finished_resources)]
        out += [(held.table, held.take_finished()) for held in self.keyed]
        out.append((self.tables.events, self.events))
        self.finished_resources, self.events = [], []
        return [(table, rows) for table, rows in out if rows]

    def take_current(self) -> Iterator[tuple[Table, list[Row]]]:
        """The rows still current at the end, by table, in chunks."""
        for row in self.by_uuid.values():
            self.documents.settle(row)
        sources: list[tuple[Table, Iterator[Row]]] = [
            (self.tables.resources, iter(self.by_uuid.values()))]
        sources += [(held.table, held.still_current()) for held in self.keyed]
        for table, rows in sources:
            chunk: list[Row] = []
            for row in rows:
                chunk.append(row)
                if len(chunk) >= CHUNK:
                    yield table, chunk
                    chunk = []
            if chunk:
                yield table, chunk


def prepared(rows_by_table: list[tuple[Table, list[Row]]], dialect: str) -> list[Insert]:
    """Inserts of finished rows, by table, with their values made, to run later in one
    transaction (``Appender``)."""
    return [prepare_insert(table, rows, dialect) for table, rows in rows_by_table if rows]
