"""Bulk writes of read-model rows through the database driver itself.

A projection batch inserts thousands of rows; going through the driver's own
``executemany`` (SQLite) or ``execute_values`` (psycopg2) with values
prepared once per column type is several times faster than building each
row's parameters through the SQL expression layer.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from operator import itemgetter
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, Connection, DateTime, Table

from craton import codec
from craton.db import driver

if TYPE_CHECKING:
    from craton.db import Database

log = logging.getLogger(__name__)

Row = dict[str, Any]
Convert = Callable[[Sequence[Any], dict[int, Any]], Sequence[Any]]  # a whole column


class TimeTexts:
    """The text of times as a database reads them, kept by value for the next time.

    One event's time is written in several rows and tables, often far apart:
    a resource row carries its creation time in every version, and a version
    is written when its successor closes it, maybe hundreds of thousands of
    events later. Texts are kept in two generations: when the young one is
    full it becomes the old one and the old one goes; a text found in the old
    generation moves back to the young one. Times written again and again stay,
    at most ``2 * per_generation`` are kept, and a replay spells each time
    about once rather than every time it is written. A column shorter than
    ``keep_from`` (a live change's few rows, whose times are mostly new) is
    spelled without keeping anything, so an API worker holds no texts for them.
    """

    def __init__(self, spell: Callable[[datetime], str], per_generation: int = 100_000,
                 keep_from: int = 64):
        self.spell = spell
        self.per_generation = per_generation
        self.keep_from = keep_from
        self.young: dict[datetime, str] = {}
        self.old: dict[datetime, str] = {}

    def __len__(self) -> int:
        return len(self.young) + len(self.old)

    def column(self, values: Sequence[datetime | None], done: object = None
               ) -> list[str | None]:
        """The texts of a column of times (None for NULL).

        Kept texts are looked up in one pass; the times missing are then looked
        up in the old generation and spelled together, each distinct time once,
        and kept in the young generation (which first becomes the old one if
        they would overfill it).
        """
        if len(values) < self.keep_from:
            return [None if v is None else self.spell(v) for v in values]
        texts: list[str | None] = list(map(self.young.get, values))  # type: ignore[arg-type]
        if None not in texts:
            return texts
        missing = {v for v, t in zip(values, texts, strict=True)
                   if t is None and v is not None}
        if not missing:
            return texts
        found: dict[datetime, str | None] = dict(zip(missing, map(self.old.get, missing),
                                                             strict=True))
        unspelled = [v for v, t in found.items() if t is None]
        found.update(zip(unspelled, map(self.spell, unspelled), strict=True))
        if len(self.young) + len(found) > self.per_generation:
            self.old, self.young = self.young, {}
        self.young.update(found)  # type: ignore[arg-type]
        return [t if t is not None or v is None else found[v]
                for t, v in zip(texts, values, strict=True)]


def _sqlite_spelling(value: datetime) -> str:
    """What SQLAlchemy's SQLite dialect stores a DateTime as (UTC, no offset)."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%d %H:%M:%S.%f")


# PostgreSQL reads ISO 8601 with its offset (an equal time in another zone is the
# same instant, which is all a ``timestamptz`` keeps).
PG_TIMES = TimeTexts(str)
SQLITE_TIMES = TimeTexts(_sqlite_spelling)


def _json_column(values: Sequence[Any], done: dict[int, Any]) -> list[Any]:
    """JSON text for a JSON column (not matched as text, so any valid spelling does),
    once per distinct object; ``done`` maps an object's id to its text (the
    objects outlive it)."""
    out: list[Any] = []
    for value in values:
        if value is None:
            out.append(None)
            continue
        converted = done.get(id(value))
        if converted is None:
            converted = done[id(value)] = codec.dumps(value)
        out.append(converted)
    return out


def _same(values: Sequence[Any], done: object = None) -> Sequence[Any]:
    return values


@cache
def _plan(table: Table, dialect: str) -> tuple[list[str], list[Convert]]:
    """The columns written (all but ``row_id``) and how each column's values are converted."""
    columns = [c for c in table.columns if c.name != "row_id"]
    converts: list[Convert] = []
    for column in columns:
        if isinstance(column.type, JSON):
            converts.append(_json_column)
        elif isinstance(column.type, DateTime):
            converts.append((SQLITE_TIMES if dialect == "sqlite" else PG_TIMES).column)
        else:
            converts.append(_same)
    return [c.name for c in columns], converts


class Pending:
    """Small writes of one batch, sent to PostgreSQL as one multi-statement round trip.

    Each statement is rendered by the driver (``mogrify``, as ``execute_values``
    does), in order; they run in the caller's transaction, so a failing one
    fails the write as a separate statement would.
    """

    def __init__(self, conn: Connection):
        self.cursor = driver(conn).cursor()
        self.parts: list[bytes] = []

    @staticmethod
    @contextmanager
    def held(conn: Connection, given: Pending | None = None) -> Iterator[Pending | None]:
        """``given`` (its holder closes it), else one for PostgreSQL, closed after;
        None on SQLite, whose calls cost no round trip."""
        if given is not None or conn.dialect.name != "postgresql":
            yield given
            return
        pending = Pending(conn)
        try:
            yield pending
        finally:
            pending.close()

    def add(self, head: str, template: str, values: list[Any], tail: str = "") -> None:
        rows = b",".join(self.cursor.mogrify(template, v) for v in values)
        self.parts.append(head.encode() + rows + tail.encode())

    def send(self) -> None:
        """Run what is held, in order (before any write that does not wait for it)."""
        parts, self.parts = self.parts, []
        if parts:
            self.cursor.execute(b";".join(parts))

    def close(self) -> None:
        self.parts = []
        self.cursor.close()


def insert_rows(conn: Connection, table: Table, rows: list[Row],
                pending: Pending | None = None) -> None:
    """INSERT every row (all columns but ``row_id``) in one driver call (or, given
    ``pending``, in the batch's one round trip)."""
    if not rows:
        return
    if pending is not None:
        if len(rows) < COPY_FROM:
            names, converts = _plan(table, conn.dialect.name)
            pending.add(f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ",
                        "(" + ",".join(["%s"] * len(names)) + ")",
                        _values(rows, names, converts))
            return
        pending.send()  # what is held (closing versions first) runs before this write
    prepare_insert(table, rows, conn.dialect.name).run(conn)


@dataclass
class Insert:
    """An INSERT (or COPY) of many rows with its values made, waiting to run."""

    statement: str
    values: Any  # COPY's text (PostgreSQL, many rows), else the rows' value tuples
    how: str  # "copy", "values" (PostgreSQL's multi-row VALUES) or "many" (SQLite)

    def run(self, conn: Connection) -> None:
        cursor = driver(conn).cursor()
        try:
            if self.how == "copy":
                cursor.copy_expert(self.statement, self.values)
            elif self.how == "values":
                from psycopg2.extras import execute_values

                execute_values(cursor, self.statement, self.values, page_size=2000)
            else:
                cursor.executemany(self.statement, self.values)
        finally:
            cursor.close()


def prepare_insert(table: Table, rows: list[Row], dialect: str) -> Insert:
    """``insert_rows``'s statement and values, made before any transaction needs them
    (a replay makes them outside SQLite's write lock, which the other process's
    writer is waiting for)."""
    names, converts = _plan(table, dialect)
    columns = ", ".join(names)
    if dialect == "postgresql" and len(rows) >= COPY_FROM:
        return Insert(f"COPY {table.name} ({columns}) FROM STDIN",
                      copy_text(rows, names, converts), "copy")
    values = _values(rows, names, converts)
    if dialect == "postgresql":
        return Insert(f"INSERT INTO {table.name} ({columns}) VALUES %s", values, "values")
    marks = ", ".join("?" for _ in names)
    return Insert(f"INSERT INTO {table.name} ({columns}) VALUES ({marks})", values, "many")


COPY_FROM = 64  # rows in one insert from which COPY beats a multi-row INSERT


_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def copy_text(rows: list[Row], names: list[str], converts: list[Convert]) -> io.StringIO:
    """Rows in COPY's text format, built a column at a time.

    Each column is converted (JSON, times) once per distinct object, turned
    into text with the driver-level loops of ``map`` where it holds no NULL,
    and escaped only if one of its values holds a backslash, tab or line
    break; the lines are then joined column-wise.
    """
    done: dict[int, Any] = {}  # id -> text, shared by columns
    columns = [_column_text(convert(values, done))
               for values, convert in zip(_columns(rows, names), converts, strict=True)]
    lines = list(map("\t".join, zip(*columns, strict=True)))
    lines.append("")
    return io.StringIO("\n".join(lines))


def _columns(rows: list[Row], names: list[str]) -> Iterator[Sequence[Any]]:
    """The rows' values, column by column.

    Each row is read once for all its values, then the values are turned
    into columns: a batch's rows were made over a long stretch of the log and
    lie all over memory, and reading one column from every row, then the
    next, fetched each row into the cache once per column.
    """
    if not rows or len(names) == 1:  # (one name: itemgetter gives values, not tuples)
        return iter([_column(rows, name) for name in names])
    try:
        tuples = list(map(itemgetter(*names), rows))
    except KeyError:  # some rows leave an optional column out
        tuples = [tuple(map(row.get, names)) for row in rows]
    return zip(*tuples, strict=True)


def _column(rows: list[Row], name: str) -> list[Any]:
    try:
        return list(map(itemgetter(name), rows))
    except KeyError:
        return [row.get(name) for row in rows]


def _column_text(values: Sequence[Any]) -> Sequence[str]:
    nulls = values.count(None)
    if nulls == len(values):
        return ["\\N"] * nulls
    present = [v for v in values if v is not None] if nulls else values
    kinds = set(map(type, present))
    texts: Sequence[str]
    if kinds == {int}:  # numbers and booleans need no escaping
        texts = list(map(str, present))
    elif kinds == {bool}:
        texts = list(map(_BOOLEAN_TEXT.__getitem__, present))
    else:
        texts = present if kinds == {str} else list(map(_scalar, present))
        joined = "\x1e".join(texts)
        if "\\" in joined or "\t" in joined or "\n" in joined or "\r" in joined:
            texts = [t.translate(_ESCAPES) for t in texts]
    if not nulls:
        return texts
    it = iter(texts)
    return ["\\N" if v is None else next(it) for v in values]


_BOOLEAN_TEXT = {True: "t", False: "f"}


def _scalar(value: Any) -> str:
    if value.__class__ is bool:
        return "t" if value else "f"
    return str(value)


def _values(rows: list[Row], names: list[str], converts: list[Convert]
            ) -> list[tuple[Any, ...]]:
    """Each row's values in column order, converted where the column type needs it.

    Successive versions of a row share their JSON document and the rows of one
    event share its time, so each distinct object is converted once per call.
    """
    done: dict[int, Any] = {}  # id(object) -> converted; every object outlives the call
    columns = [convert(values, done)
               for values, convert in zip(_columns(rows, names), converts, strict=True)]
    return list(zip(*columns, strict=True))


# The columns each kind of in-place write sets, with PostgreSQL's type for a VALUES list.
_CLOSED = (("valid_to", "bigint"), ("to_time", "timestamptz"))
_TOUCHED = (("version", "bigint"), ("updated_at", "timestamptz"),
            ("labels_json", "text"), ("variables_json", "text"))


def close_rows(conn: Connection, table: Table, rows: list[Row],
               pending: Pending | None = None) -> None:
    """Set ``valid_to``/``to_time`` on rows that existed before the batch, by ``row_id``."""
    _set_rows(conn, table, rows, _CLOSED, pending)


def touch_rows(conn: Connection, table: Table, rows: list[Row],
               pending: Pending | None = None) -> None:
    """Set ``version``/``updated_at`` and the documents (``documents``) on resource rows
    that existed before the batch, by ``row_id``."""
    _set_rows(conn, table, rows, _TOUCHED, pending)


def _set_rows(conn: Connection, table: Table, rows: list[Row],
              columns: tuple[tuple[str, str], ...], pending: Pending | None) -> None:
    """Set ``columns`` on rows stored before the batch, by ``row_id``."""
    if not rows:
        return
    dialect = conn.dialect.name
    names = [name for name, _ in columns]
    per_column = [[r[name] for r in rows] for name in names]
    if dialect == "sqlite":
        per_column = [SQLITE_TIMES.column(values) if kind == "timestamptz" else values
                      for values, (_, kind) in zip(per_column, columns, strict=True)]
    values = list(zip(*per_column, [r["row_id"] for r in rows], strict=True))
    head = (f"UPDATE {table.name} AS t SET "
            + ", ".join(f"{n} = v.{n}" for n in names) + " FROM (VALUES ")
    tail = f") AS v ({', '.join(names)}, row_id) WHERE t.row_id = v.row_id"
    template = "(" + ", ".join(f"%s::{kind}" for _, kind in (*columns, ("", "bigint"))) + ")"
    if pending is not None:
        if len(rows) < COPY_FROM:
            pending.add(head, template, values, tail)
            return
        pending.send()
    cursor = driver(conn).cursor()
    try:
        if dialect == "postgresql":  # one statement for the whole batch
            from psycopg2.extras import execute_values

            execute_values(cursor, head + "%s" + tail, values, template=template,
                           page_size=5000)
        else:
            assignments = ", ".join(f"{n} = ?" for n in names)
            cursor.executemany(
                f"UPDATE {table.name} SET {assignments} WHERE row_id = ?", values)
    finally:
        cursor.close()


def analyze_committed(db: Database, tables: list[Table]) -> None:
    """Refresh statistics after a bulk write has committed, in a transaction of its own.

    The write stands either way: a failure here is logged, not raised, so nobody
    repeats an import or a rebuild that already happened.
    """
    try:
        with db.engine.begin() as conn:
            analyze(conn, tables)
    except Exception as exc:  # statistics are an optimisation; the data is committed
        log.warning("could not refresh table statistics (%s); run ANALYZE by hand", exc)


def analyze(conn: Connection, tables: list[Table]) -> None:
    """Refresh the planner's statistics after a bulk load (else it plans for empty tables)."""
    for table in tables:  # the same statement on PostgreSQL and SQLite
        conn.exec_driver_sql(f"ANALYZE {table.name}")
