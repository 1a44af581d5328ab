"""Late events, and the position of a moment found by a seek.

An event is *late* when it is stamped earlier than some event recorded
before it: a past imported after the present, or a writer whose clock runs
behind. The events that are not late are stamped in the order they were
recorded, so the last event at or before a moment is found by one seek on
the time index, and a late one recorded after it (stamped at or before the
moment) by walking the late events back from the last one: none in a ledger
whose writers share one clock, as many as an imported past or a clock
running behind left after the answer otherwise. Without them, finding that
event meant walking the whole log back from its head to the moment.

Which events are late follows from the log alone: a live change works it out
for its own events as it records them (against the latest stamp recorded
before them, in the same round trip), and a replay for the whole log at once.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Select, Table, bindparam, func, select

from craton.batches import pieces
from craton.db import driver
from craton.projections.bulk import SQLITE_TIMES, Pending
from craton.projections.tables import Tables

Row = dict[str, Any]
SQLITE_EVENTS_PER_STATEMENT = 300  # three values each


def _flags(events: list[Row]) -> list[bool]:
    """For each event of a batch (in position order): stamped earlier than one before
    it in the batch. The others are late only if earlier than the stamps recorded
    before the batch, which the database knows."""
    flags, latest = [], None
    for event in events:
        time = event["time"]
        flags.append(latest is not None and time < latest)
        if latest is None or time > latest:
            latest = time
    return flags


def record(conn: Connection, tables: Tables, events: list[Row],
           pending: Pending | None = None) -> None:
    """Note a batch's late events; to run before the batch's events are written to the
    event log (its latest stamp is then the latest one recorded before them)."""
    if not events:
        return
    late, log = tables.late.name, tables.events.name
    flags = _flags(events)
    where = f"WHERE column3 OR column2 < (SELECT max(time) FROM {log})"
    if pending is not None:
        pending.add(f"INSERT INTO {late} (position, time) SELECT column1, column2 "
                    "FROM (VALUES ", "(%s::bigint, %s::timestamptz, %s)",
                    [(e["position"], e["time"], f) for e, f in zip(events, flags, strict=True)],
                    f") AS batch {where}")
        return
    if conn.dialect.name == "postgresql":
        with Pending.held(conn) as own:
            assert own is not None
            record(conn, tables, events, own)
            own.send()
        return
    times = SQLITE_TIMES.column([e["time"] for e in events])
    marked = list(zip(events, times, flags, strict=True))
    cursor = driver(conn)
    # In pieces: SQLite binds at most 32,766 values to a statement (999 before 3.32).
    # Every piece still runs before the batch's events are in the log.
    for piece in pieces(marked, SQLITE_EVENTS_PER_STATEMENT):
        rows = ",".join(["(?, ?, ?)"] * len(piece))
        values = [v for e, t, f in piece for v in (e["position"], t, int(f))]
        cursor.execute(f"INSERT INTO {late} (position, time) SELECT column1, column2 "
                       f"FROM (VALUES {rows}) AS batch {where}", values)


def record_all(conn: Connection, tables: Tables) -> int:
    """Note every late event of a freshly projected log (a replay's); returns how many."""
    late, log = tables.late.name, tables.events.name
    conn.exec_driver_sql(
        f"INSERT INTO {late} (position, time) SELECT position, time FROM ("
        "SELECT position, time, max(time) OVER (ORDER BY position "
        "ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS before "
        f"FROM {log}) AS ordered WHERE time < before")
    return int(conn.execute(select(func.count()).select_from(tables.late)).scalar() or 0)


@lru_cache(maxsize=16)  # a few sets of tables: the live ones, a rebuild's
def _position_statement(events: Table, late: Table) -> Select[Any]:
    moment = bindparam("moment", type_=events.c.time.type)
    t, p = events.c.time, events.c.position
    last = select(p).where(t <= moment).order_by(t.desc(), p.desc()).limit(1)  # one seek
    # (the primary key walked back from the last late event: no time index on either
    # database finds the greatest position among the stamps at or before a moment)
    after = select(late.c.position).where(late.c.time <= moment) \
        .order_by(late.c.position.desc()).limit(1)
    return select(last.scalar_subquery(), after.scalar_subquery())


def position_at(conn: Connection, moment: datetime, tables: Tables) -> int:
    """The last position recorded at or before ``moment`` (0 before the first event).

    Among events that are not late, stamps grow with positions: the latest stamp
    at or before the moment, and the last position with that stamp, is where they
    stop. A late event after it, stamped at or before the moment, is in the late
    events. (If that last position is itself late, every event after it that is
    not late is stamped after the moment.)
    """
    found = conn.execute(_position_statement(tables.events, tables.late),
                         {"moment": moment}).one()
    return int(max(found[0] or 0, found[1] or 0))
