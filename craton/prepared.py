"""Reads prepared once per PostgreSQL connection, then executed by name.

A first page of a listing is one statement, sent as text: the server parses,
analyses and rewrites it on every request before planning it, about a tenth
of a millisecond of a page's half millisecond in the server. Prepared once
per connection (``PREPARE``), each request sends only ``EXECUTE`` and its
values. Every execution is still planned for its own values
(``plan_cache_mode = force_custom_plan``): a plan made once for any value
would match a common variable as if it were rare, a scan of a thousand
times the rows (seen: 60 ms instead of 0.4 ms).

Only a connection outside any transaction takes this path
(``Database.one_statement``): a statement that fails there leaves no
transaction aborted behind it. A
connection keeps at most ``KEPT`` statements, the least recently used
deallocated first; when the server's statements and the connection's list
disagree (``DISCARD ALL``, a rebuilt table), all are dropped and the
statement prepared again. Not for a pooler that hands one client several
server sessions (PgBouncer's transaction mode): connect it past the pooler.
"""

from __future__ import annotations

import os
import re
from collections import OrderedDict
from collections.abc import Sequence
from functools import lru_cache
from itertools import count
from typing import Any

import psycopg2.errors
from psycopg2.extensions import TRANSACTION_STATUS_IDLE
from sqlalchemy import Connection, Select

from craton.db import compiled_once, driver, drivers_own, fetch

KEPT = 64
_KEY = "craton.prepared"  # conn.info: (backend pid, statement text -> name)
_PARAMETER = re.compile(r"%\((\w+)\)s|%%")
_names = count(1)
# What the server says when its prepared statements and ours no longer agree: it
# forgot one (``DISCARD ALL``), holds one by that name already, or a table was
# rebuilt with another shape under a statement's plan. All are dropped, and the
# statement prepared again, once.
_START_AGAIN = (psycopg2.errors.InvalidSqlStatementName,
                psycopg2.errors.DuplicatePreparedStatement,
                psycopg2.errors.FeatureNotSupported)


@lru_cache(maxsize=512)
def _numbered(text: str) -> tuple[str, tuple[str, ...]]:
    """psycopg2's ``%(name)s`` text as ``$n`` text, and the names in ``$n`` order."""
    order: dict[str, int] = {}

    def number(found: re.Match[str]) -> str:
        name = found.group(1)
        if name is None:
            return "%"
        return f"${order.setdefault(name, len(order) + 1)}"
    return _PARAMETER.sub(number, text), tuple(order)


def fetch_prepared(conn: Connection, statement: Select[Any], params: dict[str, Any]
                   ) -> tuple[list[str], Sequence[Any]]:
    """``db.fetch``, the statement prepared on the server once per connection where it
    can be (PostgreSQL, in autocommit, with values the driver binds as they are)."""
    compiled = compiled_once(statement, conn.dialect)
    values = compiled.construct_params(params)
    if (conn.dialect.name != "postgresql" or not drivers_own(compiled, values)
            or driver(conn).get_transaction_status() != TRANSACTION_STATUS_IDLE):
        return fetch(conn, statement, params)
    text, names = _numbered(compiled.string)
    arguments = [values[name] for name in names]
    cursor = driver(conn).cursor()
    try:
        try:
            _execute(conn, cursor, text, arguments)
        except _START_AGAIN:
            cursor.execute("DEALLOCATE ALL")
            conn.info.pop(_KEY, None)
            _execute(conn, cursor, text, arguments)
        return [d[0] for d in cursor.description], cursor.fetchall()
    finally:
        cursor.close()


def _execute(conn: Connection, cursor: Any, text: str, arguments: list[Any]) -> None:
    dbapi = driver(conn)
    pid = dbapi.get_backend_pid()
    held = conn.info.get(_KEY)
    if held is None or held[0] != pid:  # (a connection made again: a new session)
        held = conn.info[_KEY] = (pid, OrderedDict())
    kept: OrderedDict[str, str] = held[1]
    name = kept.get(text)
    if name is None:
        setup = "" if kept else "SET plan_cache_mode = force_custom_plan; "
        if len(kept) >= KEPT:
            setup += f"DEALLOCATE {kept.popitem(last=False)[1]}; "
        name = f"craton_read_{os.getpid()}_{next(_names)}"
        cursor.execute(f"{setup}PREPARE {name} AS {text}")
        kept[text] = name
    else:
        kept.move_to_end(text)
    marks = ", ".join(["%s"] * len(arguments))
    cursor.execute(f"EXECUTE {name}({marks})" if arguments else f"EXECUTE {name}",
                   arguments)
