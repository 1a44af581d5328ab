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

Which events are late follows from the log alone: a live change has the
database work it out for its own events once they are written (in the same
round trip), and a replay for the whole log at once.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Select, Table, bindparam, select

from craton.db import driver
from craton.projections.bulk import Pending
from craton.projections.tables import Tables

Row = dict[str, Any]


def _record_sql(log: str, late: str, first: int, by_time: bool = True) -> str:
    """The late events among those from position ``first`` on (the batch just
    written, the last in the log): each against the latest stamp before it, in the
    batch or before the batch.

    The latest stamp before the batch is one seek on the time index (``by_time``),
    or, where the log has no time index yet (a rebuild's, until its swap), the
    stamp of the last event before the batch that is not late: the primary key
    walked back over the late events, normally none.
    """
    start = int(first)
    latest = (f"SELECT max(time) AS latest FROM {log} WHERE position < {start}" if by_time
              else f"SELECT (SELECT time FROM {log} WHERE position < {start} AND NOT "
                   f"EXISTS (SELECT 1 FROM {late} WHERE {late}.position = {log}.position) "
                   "ORDER BY position DESC LIMIT 1) AS latest")  # (a row, even for none)
    return (f"INSERT INTO {late} (position, time) SELECT batch.position, batch.time FROM ("
            "SELECT position, time, max(time) OVER (ORDER BY position "
            "ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS before "
            f"FROM {log} WHERE position >= {start}) AS batch, "
            f"({latest}) AS prior "
            "WHERE batch.time < prior.latest OR batch.time < batch.before")


@lru_cache(maxsize=16)  # asked on every write: a few sets of tables
def _has_time_index(log: Table) -> bool:
    return any(index.name and index.name.endswith("ix_event_time") for index in log.indexes)


def record(conn: Connection, tables: Tables, events: list[Row],
           pending: Pending | None = None) -> None:
    """Note a batch's late events, once its events are written to the event log (in
    ``pending``'s round trip, after them, when given). The database works them out
    from the rows it holds: nothing is sent but the batch's first position."""
    if not events:
        return
    sql = _record_sql(tables.events.name, tables.late.name,
                      min(e["position"] for e in events), _has_time_index(tables.events))
    if pending is not None:
        pending.add(sql, "", [])
        return
    cursor = driver(conn).cursor()
    try:
        cursor.execute(sql)
    finally:
        cursor.close()


def record_all(conn: Connection, tables: Tables) -> None:
    """Note every late event of a freshly projected log (a replay's)."""
    conn.exec_driver_sql(_record_sql(tables.events.name, tables.late.name, 0))


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
