"""The read-model tables. Every versioned row is true from ``valid_from`` to ``valid_to``.

Positions are event positions (the event store's notification ids); a row with
``valid_to`` NULL is current. ``from_time``/``to_time`` carry the timestamps of
the same two events. Tables take a prefix so a rebuild can write beside the
live ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    event,
    func,
    literal_column,
    text,
)
from sqlalchemy.schema import DDL
from sqlalchemy.sql.elements import ColumnElement

from craton.domain.ids import MAX_ID

# Bump when a read-model shape changes: a rebuild from the log follows.
SCHEMA_VERSION = 11  # 2: values spelled by orjson (UTF-8, keys sorted); 3: covering as-of
# indexes on the key/value tables; 4: the facts' one covers the key only; 5: a resource
# row is versioned only when its fields change (variables, facts, labels: in place);
# 6: the covering as-of indexes hold ``valid_to`` (index-only scans on PostgreSQL);
# 7: late events, the time index holds positions (``lateness``); 8: the current
# variables' index holds their values; 9: a resource row holds its labels and variables
# as JSON text (``documents``); 10: only events of runs are in the runs' index; 11: a
# project's own events belong to it in the audit log

ID = BigInteger().with_variant(Integer(), "sqlite")
TIME = DateTime(timezone=True)


def _interval() -> list[Column]:  # type: ignore[type-arg]
    return [
        Column("valid_from", ID, nullable=False),
        Column("valid_to", ID, nullable=True),
        Column("from_time", TIME, nullable=False),
        Column("to_time", TIME, nullable=True),
    ]


# ``valid_to`` of a current row, for as-of matching: beyond every position.
OPEN_END = MAX_ID


def valid_until(t: Table) -> ColumnElement[Any]:
    """``valid_to``, or ``OPEN_END`` for a current row: the as-of indexes' expression.

    The number is written into the SQL (not bound) so both databases match the
    query's expression to the index's.
    """
    return func.coalesce(t.c.valid_to, literal_column(str(OPEN_END)))


def _as_of(name: str, t: Table, *cols: str, covering: tuple[str, ...] = ()) -> Index:
    """An index for past rows: the columns, then ``valid_from`` and ``valid_until``,
    then the ``covering`` columns an as-of read takes from it (no table lookups).

    A covering index also holds ``valid_to`` itself: PostgreSQL reads a row from
    the index alone only when every column the query names is a column of the
    index, and ``valid_until`` is an expression over ``valid_to``, not the column
    (without it, a fleet's variables as of a moment fetched 140,000 heap rows).
    """
    covered = (*covering, "valid_to") if covering else ()
    return Index(name, *[t.c[c] for c in cols], t.c.valid_from, valid_until(t),
                 *[t.c[c] for c in covered])


def _current(name: str, *cols: str, unique: bool = False) -> Index:
    """An index over current rows only (partial on both databases)."""
    where = text("valid_to IS NULL")
    return Index(name, *cols, unique=unique, sqlite_where=where, postgresql_where=where)


@dataclass(frozen=True)
class Tables:
    """One complete set of read-model tables."""

    metadata: MetaData
    resources: Table
    variables: Table
    labels: Table
    facts: Table
    members: Table
    events: Table
    late: Table
    state: Table

    @property
    def versioned(self) -> list[Table]:
        return [self.resources, self.variables, self.labels, self.facts, self.members]

    @property
    def rebuildable(self) -> list[Table]:
        """Every table a replay rebuilds from the log."""
        return [*self.versioned, self.events, self.late]

    @property
    def all(self) -> list[Table]:
        return [*self.versioned, self.events, self.late, self.state]


# Columns PostgreSQL should know go together (multivariate statistics): a key
# and its value are far from independent, and current rows are a small part of
# each table, so without them a filter on a value is misjudged by orders of
# magnitude and a listing page takes a hash join instead of an index probe.
TOGETHER = {"variable_versions": ("key", "value", "valid_to"),
            "label_versions": ("label", "valid_to")}


def statistics_ddl(name: str, prefix: str = "") -> str | None:
    """``CREATE STATISTICS`` for a live table that has some (PostgreSQL only), or for
    its copy named with ``prefix`` (a rebuild's)."""
    columns = TOGETHER.get(name)
    if columns is None:
        return None
    return (f"CREATE STATISTICS IF NOT EXISTS {prefix}{name}_together (mcv, dependencies) "
            f"ON {', '.join(columns)} FROM {prefix}{name}")


# The indexes a projection itself reads through; a rebuild loads tables with only
# these and builds the rest once the rows are in.
LOOKUP_INDEXES = ("ix_res_uuid", "ix_variable_current", "ix_fact_current",
                  "ix_label_current", "ix_member_res")


def build_tables(prefix: str = "", lean: bool = False) -> Tables:
    """The read-model tables, names prefixed; ``lean``: only the lookup indexes."""
    md = MetaData()
    p = prefix
    resources = Table(
        f"{p}resource_versions", md,
        Column("row_id", ID, primary_key=True, autoincrement=True),
        Column("id", ID, nullable=False),
        Column("uuid", String(36), nullable=False),
        Column("kind", String(32), nullable=False),
        Column("project_id", String(36)),
        Column("version", Integer, nullable=False),
        Column("name", String(255)),
        Column("unique_key", String(400)),
        *[Column(c, ID) for c in (
            "cloud_id", "region_id", "cell_id", "parent_id", "device_id",
            "network_id", "host_id")],
        Column("device_type", String(64)),
        Column("ip_address", String(64)),
        Column("active", Boolean),
        Column("data", JSON, nullable=False),
        Column("secret", String(200)),
        Column("created_at", TIME, nullable=False),
        Column("updated_at", TIME, nullable=False),
        # The current row's labels and variables as JSON text (``documents``).
        Column("labels_json", Text),
        Column("variables_json", Text),
        *_interval(),
        _current(f"{p}ix_res_unique", "unique_key", unique=True),
        _current(f"{p}ix_res_uuid", "uuid"),
        _current(f"{p}ix_res_current", "kind", "created_at", "id"),
        *[_current(f"{p}ix_res_{c}", c) for c in (
            "cloud_id", "region_id", "cell_id", "parent_id", "device_id",
            "network_id", "host_id")],
    )
    _as_of(f"{p}ix_res_id_from", resources, "id")
    _as_of(f"{p}ix_res_kind_created", resources, "kind", "created_at", "id")
    kv = []
    for name, key in (("variable", "key"), ("fact", "key"), ("label", "label")):
        cols: list[Column[Any]] = [
            Column("row_id", ID, primary_key=True, autoincrement=True),
            Column("resource_id", ID, nullable=False),
            Column(key, String(255), nullable=False),
        ]
        if name != "label":
            cols.append(Column("value", Text, nullable=False))
        # Variables' current index also holds the value (bounded, as ``ix_variable_by_value``
        # says), and ``valid_to`` (SQLite reads from an index alone only when it holds
        # every column the query names, its partial condition's too): a resource's
        # current variables are read from the index alone.
        current = ("resource_id", key, "value", "valid_to") if name == "variable" \
            else ("resource_id", key)
        indexes: list[Index] = [_current(f"{p}ix_{name}_current", *current)]
        if name != "fact":
            by_value = (key, "value") if name == "variable" else (key,)
            indexes.append(_current(f"{p}ix_{name}_by_value", *by_value))
        table = Table(f"{p}{name}_versions", md, *cols, *_interval(), *indexes)
        # Variables' values are already bounded by ``ix_variable_by_value``; a fact's
        # value (a certificate, a log) may be longer than a PostgreSQL index entry holds.
        _as_of(f"{p}ix_{name}_res_from", table, "resource_id",
               covering=(key, "value") if name == "variable" else (key,))
        kv.append(table)
    members = Table(
        f"{p}member_versions", md,
        Column("row_id", ID, primary_key=True, autoincrement=True),
        Column("group_id", ID, nullable=False),
        Column("resource_id", ID, nullable=False),
        *_interval(),
        Index(f"{p}ix_member_group", "group_id", "valid_from"),
        Index(f"{p}ix_member_res", "resource_id", "valid_from"),
    )
    events = Table(
        f"{p}event_log", md,
        Column("position", ID, primary_key=True, autoincrement=False),
        Column("time", TIME, nullable=False),
        Column("event_type", String(80), nullable=False),
        Column("kind", String(32), nullable=False),
        Column("resource_id", ID),
        Column("uuid", String(36), nullable=False),
        Column("version", Integer, nullable=False),
        Column("project_id", String(36)),
        Column("actor_id", ID),
        Column("actor_name", String(255), nullable=False),
        Column("source", String(16), nullable=False),
        Column("request_id", String(64)),
        Column("reason", Text),
        Column("run_id", String(36)),
        Column("changes", JSON, nullable=False),
        # The last event at or before a moment: one seek (``lateness``).
        Index(f"{p}ix_event_time", "time", "position"),
        # A past read's version and update time of a row (``pages.stamps``), covered.
        Index(f"{p}ix_event_resource", "resource_id", "position", "version", "time"),
        Index(f"{p}ix_event_request", "request_id"),
        # Most events are no step of a run: the index holds only those that are.
        Index(f"{p}ix_event_run", "run_id", "position",
              postgresql_where=text("run_id IS NOT NULL"),
              sqlite_where=text("run_id IS NOT NULL")),
        Index(f"{p}ix_event_actor", "actor_name", "position"),
        Index(f"{p}ix_event_kind", "kind", "position"),
    )
    # Events stamped earlier than one recorded before them (``lateness``).
    late = Table(
        f"{p}late_events", md,
        Column("position", ID, primary_key=True, autoincrement=False),
        Column("time", TIME, nullable=False),
    )
    state = Table(
        f"{p}projection_state", md,
        Column("name", String(64), primary_key=True),
        Column("value", BigInteger().with_variant(Integer(), "sqlite"), nullable=False),
    )
    tables = Tables(md, resources, kv[0], kv[2], kv[1], members, events, late, state)
    if not prefix:
        for table in tables.all:
            ddl = statistics_ddl(table.name)
            if ddl is not None:
                event.listen(table, "after_create", DDL(ddl).execute_if(dialect="postgresql"))
    if lean:
        keep = {prefix + name for name in LOOKUP_INDEXES}
        for table in tables.all:
            for index in [i for i in table.indexes if i.name not in keep]:
                table.indexes.discard(index)
    return tables


LIVE = build_tables()
