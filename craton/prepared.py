"""First pages prepared once per PostgreSQL connection, then executed by name.

A first page of a listing is one statement, sent as text: the server parses,
analyses, rewrites and plans it on every request, about half of a page's
time in the server. Its values are written into the text as the driver
writes them anyway (the kinds, the filters, the limit), and that text is
prepared once per connection (``PREPARE``) and run by name (``EXECUTE``):
with no parameters left, the server keeps the one plan it made for these
very values, so a common variable is not planned as a rare one (a plan made
for any value of a ``vars=`` filter scanned a thousand times the rows: 60 ms
instead of 0.4 ms). A new text is prepared and run in one round trip.

Only a connection outside any transaction takes this path
(``Database.one_statement``): a statement that fails there leaves no
transaction aborted behind it. A connection keeps at most ``KEPT``
statements, the least recently used deallocated first; when the server's
statements and the connection's list disagree (``DISCARD ALL``, a rebuilt
table), all are dropped and the statement prepared again. Not for a pooler
that hands one client several server sessions (PgBouncer's transaction
mode): connect it past the pooler.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Sequence
from itertools import count
from typing import Any

import psycopg2.errors
from psycopg2.extensions import TRANSACTION_STATUS_IDLE
from sqlalchemy import Connection, Select

from craton.db import compiled_once, driver, drivers_own, fetch

KEPT = 64
_KEY = "craton.prepared"  # conn.info: (backend pid, statement text -> name)
_names = count(1)
# What the server says when its prepared statements and ours no longer agree: it
# forgot one (``DISCARD ALL``), holds one by that name already, or a table was
# rebuilt with another shape under a statement's plan. All are dropped, and the
# statement prepared again, once.
_START_AGAIN = (psycopg2.errors.InvalidSqlStatementName,
                psycopg2.errors.DuplicatePreparedStatement,
                psycopg2.errors.FeatureNotSupported)


def fetch_prepared(conn: Connection, statement: Select[Any], params: dict[str, Any]
                   ) -> tuple[list[str], Sequence[Any]]:
    """``db.fetch``, the statement prepared on the server once per connection where it
    can be (PostgreSQL, outside a transaction, with values the driver writes as they
    are)."""
    compiled = compiled_once(statement, conn.dialect)
    values = compiled.construct_params(params)
    dbapi = driver(conn)
    if (conn.dialect.name != "postgresql" or not drivers_own(compiled, values)
            or dbapi.get_transaction_status() != TRANSACTION_STATUS_IDLE):
        return fetch(conn, statement, params)
    cursor = dbapi.cursor()
    try:
        text = cursor.mogrify(compiled.string, values).decode()
        try:
            _execute(conn, cursor, text)
        except _START_AGAIN:
            cursor.execute("DEALLOCATE ALL")
            conn.info.pop(_KEY, None)
            _execute(conn, cursor, text)
        return [d[0] for d in cursor.description], cursor.fetchall()
    finally:
        cursor.close()


def _execute(conn: Connection, cursor: Any, text: str) -> None:
    pid = cursor.connection.get_backend_pid()
    held = conn.info.get(_KEY)
    if held is None or held[0] != pid:  # (a connection made again: a new session)
        held = conn.info[_KEY] = (pid, OrderedDict())
    kept: OrderedDict[str, str] = held[1]
    name = kept.get(text)
    if name is not None:
        kept.move_to_end(text)
        cursor.execute(f"EXECUTE {name}")
        return
    drop = f"DEALLOCATE {kept.popitem(last=False)[1]}; " if len(kept) >= KEPT else ""
    name = f"craton_read_{os.getpid()}_{next(_names)}"
    # (no values to bind: the driver sends the text as it is, % signs and all)
    cursor.execute(f"{drop}PREPARE {name} AS {text}; EXECUTE {name}")
    kept[text] = name
