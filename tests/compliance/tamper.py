"""Changing the stored log behind the triggers' back, as a database superuser could."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, text

from craton.bootstrap import Services
from craton.db import EVENTS_TABLE


@contextmanager
def superuser(svc: Services) -> Iterator[Connection]:
    """A connection on which the append-only triggers do not fire."""
    with svc.db.engine.connect() as conn:
        if svc.db.is_postgres:
            conn.execute(text("SET session_replication_role = replica"))
        else:
            for table in (EVENTS_TABLE, "ledger_chain"):
                for action in ("update", "delete"):
                    conn.execute(text(f"DROP TRIGGER IF EXISTS {table}_no_{action}"))
        yield conn
        conn.commit()


def _row(conn: Connection, position: int) -> dict:
    return dict(conn.execute(text(f"SELECT * FROM {EVENTS_TABLE} WHERE id = :p"),
                             {"p": position}).mappings().one())


def alter_byte(svc: Services, position: int) -> None:
    with superuser(svc) as conn:
        state = bytearray(_row(conn, position)["state"])
        state[len(state) // 2] ^= 0x01
        conn.execute(text(f"UPDATE {EVENTS_TABLE} SET state = :s WHERE id = :p"),
                     {"s": bytes(state), "p": position})


def delete_event(svc: Services, position: int) -> None:
    with superuser(svc) as conn:
        conn.execute(text(f"DELETE FROM {EVENTS_TABLE} WHERE id = :p"), {"p": position})


def insert_forged(svc: Services, copy_of: int, position: int) -> None:
    with superuser(svc) as conn:
        row = _row(conn, copy_of)
        row.update(id=position, originator_version=999)
        conn.execute(text(f"INSERT INTO {EVENTS_TABLE} (id, originator_id, originator_version, "
                          "topic, state) VALUES (:id, :originator_id, :originator_version, "
                          ":topic, :state)"), row)


def swap(svc: Services, first: int, second: int) -> None:
    columns = ("originator_id", "originator_version", "topic", "state")
    with superuser(svc) as conn:
        a, b = _row(conn, first), _row(conn, second)
        update = text(f"UPDATE {EVENTS_TABLE} SET originator_id = :originator_id, "
                      "originator_version = :originator_version, topic = :topic, "
                      "state = :state WHERE id = :id")
        conn.execute(update, {**{c: a[c] for c in columns}, "originator_version": -1,
                              "id": first})
        conn.execute(update, {**{c: a[c] for c in columns}, "id": second})
        conn.execute(update, {**{c: b[c] for c in columns}, "id": first})


def truncate_tail(svc: Services, keep_up_to: int) -> None:
    """Cut the log and its chain after a position, leaving no link behind."""
    with superuser(svc) as conn:
        conn.execute(text(f"DELETE FROM {EVENTS_TABLE} WHERE id > :p"), {"p": keep_up_to})
        conn.execute(text("DELETE FROM ledger_chain WHERE position > :p"), {"p": keep_up_to})
