"""A listing's items spelt as JSON text straight from the driver's rows.

An item of a listing is its resource row's own columns: the id, the uuid, the
fields (stored as the text of a JSON object), the project, the labels and two
times. Made as dicts, each of a page's hundred items had its fields parsed,
a dict built, its labels sorted and its times spelt, and then the whole page
was written out as JSON again: most of a listing's own time, to write back
text the database already held. Here each item is one string put together
from the columns' text, in two pieces: ``head`` (``{"id":..`` up to the
labels) and ``tail`` (the two times and the closing brace), so a listing with
``details=true`` puts the variables' object, which the row holds as text
(``documents``; at a past moment the database spells it, ``variables.members_of``),
between them. The text is what ``listing.item``
makes of the same row, member for member and in the same order.

Spelling the items inside the statement instead was tried and measured: the
databases build text slower than this (PostgreSQL's ``to_char`` and
SQLite's string functions cost more per row than the Python they replace).

Only kinds whose items are the columns as they are take this path: a
project's id is its uuid, a user's ``name`` is shown as ``username``, and a
kind whose fields could carry a member the item sets itself would repeat it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import orjson

from craton.domain.kinds import KINDS
from craton.projections.timeline import iso, sqlite_iso, utc

# Members an item sets itself; a kind with a field of one of these names is not spelt.
_SET_BY_ITEM = frozenset(
    {"id", "uuid", "project_id", "labels", "variables", "created_at", "updated_at"})
_NOT_AS_STORED = frozenset({"project", "user"})


def spelt(kinds: tuple[str, ...]) -> bool:
    """Whether a listing of ``kinds`` can be spelt from its rows."""
    if not kinds or any(k in _NOT_AS_STORED or _SET_BY_ITEM & KINDS[k].fields.keys()
                        for k in kinds):
        return False
    return len({KINDS[k].labels for k in kinds}) == 1  # labels shown for all or none


_IN_ORDER: dict[str, str] = {}  # SQLite's label arrays, sorted: a fleet has few kinds of them
_IN_ORDER_MAX = 4096


def labels_text(value: str | None) -> str:
    """SQLite's ``labels`` column of a page row (``json_group_array``'s text, in no
    particular order; None for none) as a JSON array in code-point order."""
    if value is None:
        return "[]"
    if "," not in value:  # at most one label: in order already
        return value
    found = _IN_ORDER.get(value)
    if found is None:
        if len(_IN_ORDER) >= _IN_ORDER_MAX:
            _IN_ORDER.clear()
        found = _IN_ORDER[value] = orjson.dumps(sorted(orjson.loads(value))).decode()
    return found


def _quoted(value: str | None) -> str:
    return "null" if value is None else f'"{value}"'


def sqlite_time(value: str | None) -> str:
    """A time as SQLite stores it, spelt as ``timeline.sqlite_iso`` spells it, quoted."""
    return _quoted(sqlite_iso(value))


def postgres_time(value: str | None) -> str:
    """A time as PostgreSQL writes a timestamp in UTC (``YYYY-MM-DD HH:MM:SS``, then
    ``.`` and up to six digits, trailing zeros dropped) as ``timeline.iso`` spells it,
    quoted."""
    if value is None:
        return "null"
    if len(value) == 26 and value[10] == " " and value[19] == ".":  # (most: six digits)
        return f'"{value[:10]}T{value[11:]}Z"'
    fraction = value[19:]
    if len(value) < 19 or value[10] != " " or (fraction and (
            fraction[0] != "." or len(fraction) > 7)):  # (not ISO: read it as it is)
        return _quoted(iso(utc(datetime.fromisoformat(value))))
    return f'"{value[:10]}T{value[11:19]}{fraction.ljust(7, "0") if fraction else ""}Z"'


def items(rows: Sequence[Any], at: dict[str, int], sqlite: bool, labelled: bool,
          labels_in_order: bool = False) -> tuple[list[str], list[str]]:
    """The ``head`` and ``tail`` of each row's item; ``at``: the position of each
    column in a row; ``sqlite``: SQLite's columns, else PostgreSQL's as text
    (``pages.page_statement`` ``as_text``: labels in order already);
    ``labels_in_order``: the rows' own labels (``documents``), in order on both."""
    rid, uuid, project, data, created, updated = (
        at[n] for n in ("id", "uuid", "project_id", "data", "created_at", "updated_at"))
    labels_at = at["labels"] if labelled else None
    spell: Callable[[str | None], str] = sqlite_time if sqlite else postgres_time
    heads: list[str] = []
    tails: list[str] = []
    add_head, add_tail = heads.append, tails.append
    resort = sqlite and not labels_in_order
    for r in rows:
        fields: str = r[data]
        members = "" if fields == "{}" else "," + fields[1:-1]
        in_project = r[project]
        project_text = "null" if in_project is None else '"' + in_project + '"'
        head = f'{{"id":{r[rid]},"uuid":"{r[uuid]}"{members},"project_id":{project_text}'
        if labels_at is not None:
            labels = r[labels_at]
            if labels is None:
                labels = "[]"
            elif resort and "," in labels:
                labels = labels_text(labels)
            head = f'{head},"labels":{labels}'
        add_head(head)
        add_tail(f',"created_at":{spell(r[created])},"updated_at":{spell(r[updated])}}}')
    return heads, tails
