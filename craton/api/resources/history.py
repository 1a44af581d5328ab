"""The past: one resource's history, the audit trail, and what changed between moments."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import falcon
from sqlalchemy import Connection, select

from craton.domain.errors import InvalidInput, NotFound
from craton.domain.kinds import Kind
from craton.projections import audit, diff, timeline
from craton.projections.tables import LIVE

from .. import policy
from ..context import Api, authorise, set_position
from ..docs import Op
from ..paging import href
from ..params import DiffParams, EventsParams, HistoryParams, normalise_type
from ..queries import any_version
from ..schemas import DiffOut, EventsOut, HistoryOut


class History:
    """``/v1/<plural>/<id>/history``: every event, who made it, and the fields it left."""

    def __init__(self, api: Api, kind: Kind):
        self.api, self.kind = api, kind
        self.docs = {"GET": Op(f"History of a {kind.name} (paged by position: after, "
                               "limit)", HistoryParams, None, HistoryOut)}

    def on_get(self, req: falcon.Request, resp: falcon.Response, id: Any) -> None:
        caller, q = authorise(req, self.kind.name, policy.READ, HistoryParams)
        with self.api.snapshot(q.get("as_of")) as snap:
            row = any_version(snap.conn, self.kind.name, id, caller)
            entries, more = audit.history(snap.conn, row.id, after=q.get("after") or 0,
                                          until=snap.at, limit=q["limit"])
        if not entries and q.get("after") is None:
            raise NotFound(f"no {self.kind.name} with id {id}")
        links = [{"rel": "next", "href": href(req, snap.position,
                                               after=entries[-1]["position"])}] if more else []
        resp.media = {"history": entries, "links": links}
        set_position(resp, snap.position)


def _bound(conn: Connection, value: str | None, *, lower: bool) -> int | None:
    """A ``since``/``until`` as an inclusive position bound."""
    if value is None:
        return None
    moment = timeline.parse_moment(value)
    if isinstance(moment, int):
        return moment
    if lower:
        if moment == timeline.EARLIEST:
            return 1  # nothing is stamped before the first moment
        return timeline.position_at(conn, moment - timedelta(microseconds=1)) + 1
    return timeline.position_at(conn, moment)


class Events:
    """``/v1/events``: the audit trail, oldest first, paged by position."""

    def __init__(self, api: Api):
        self.api = api
        self.docs = {"GET": Op("The audit trail", EventsParams, None, EventsOut)}

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        caller, q = authorise(req, "audit", policy.READ, EventsParams)
        kind, hidden = _readable(caller, q.get("resource_type"))
        with self.api.snapshot(q.get("as_of")) as snap:
            until = _bound(snap.conn, q.get("until"), lower=False)
            ceiling = snap.position
            query = audit.EventQuery(
                since=_bound(snap.conn, q.get("since"), lower=True),
                until=ceiling if until is None else min(until, ceiling),
                after=q.get("after"), actor=q.get("actor"),
                resource_type=kind,
                resource_id=q.get("resource_id"), event_type=q.get("event_type"),
                request_id=q.get("request_id"), run_id=q.get("run_id"),
                project_id=caller.project_id, limit=q["limit"], hidden_kinds=hidden)
            rows, more = audit.events(snap.conn, query)
            has_prev, prev_after = _previous_after(snap.conn, query)
        page = [audit.present_event(r) for r in rows]
        out_links = [{"rel": "first", "href": href(req, snap.position)}]
        if has_prev:
            out_links.append({"rel": "prev", "href": href(req, snap.position, after=prev_after)})
        out_links.append({"rel": "self", "href": href(req, snap.position, after=q.get("after"))})
        if more:
            out_links.append({"rel": "next", "href": href(
                req, snap.position, after=page[-1]["position"])})
        resp.media = {"events": page, "links": out_links}
        set_position(resp, snap.position)


def _previous_after(conn: Connection, q: audit.EventQuery) -> tuple[bool, int | None]:
    """Whether a page precedes this one, and the ``after`` it is read with (None: the
    first page): the ``limit`` matching events at or before this page's ``after``."""
    if q.after is None:
        return False, None
    e = LIVE.events
    conds = [*audit.matching(q), e.c.position <= q.after]
    before = conn.execute(select(e.c.position).where(*conds)
                          .order_by(e.c.position.desc()).limit(q.limit + 1)).scalars().all()
    return True, (int(before[-1]) if len(before) > q.limit else None)


class Diff:
    """``/v1/diff``: created, changed (field by field) and deleted between two moments."""

    def __init__(self, api: Api):
        self.api = api
        self.docs = {"GET": Op("What changed between two moments", DiffParams, None, DiffOut)}

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        caller, q = authorise(req, "audit", policy.READ, DiffParams)
        kind, hidden = _readable(caller, q.get("resource_type"))
        _ordered(q["from_"], q.get("to"))
        with self.api.snapshot(q.get("to")) as snap:
            start = timeline.resolve(snap.conn, q["from_"]) or 0
            end = snap.position
            if start > end:
                _reversed(q["from_"], f"@{end}")  # ``to`` as resolved, the head at most
            out = diff.diff(snap.conn, start, end, kind, caller.project_id,
                            hidden_kinds=hidden, after=q.get("after") or 0, limit=q["limit"])
        more, last = out.pop("more"), out.pop("last")
        # The next page compares the same two moments: ``to`` pinned at this one's end.
        # (pinned by ``to``: every page compares the same two moments)
        links = [{"rel": "next", "href": href(req, end, pin="to", after=last)}] \
            if more else []
        resp.media = {"from": start, "to": end, **out, "links": links}
        set_position(resp, snap.position)


def _readable(caller: Any, resource_type: str | None) -> tuple[str | None, tuple[str, ...]]:
    """The kind asked for (403 if the caller may not read it) and the kinds to leave
    out: a role that may not read users does not read them in the audit trail either."""
    kind = normalise_type(resource_type)
    if kind is not None:
        policy.require(caller, kind, policy.READ)
    return kind, policy.unreadable_kinds(caller)


def _ordered(start: str, end: str | None) -> None:
    """Two times given in the wrong order are refused even where no event lies between."""
    if end is None:
        return
    first, last = timeline.parse_moment(start), timeline.parse_moment(end)
    if isinstance(first, datetime) and isinstance(last, datetime) and first > last:
        _reversed(start, end)


def _reversed(start: str, end: str) -> None:
    """400, as reports answer a window that ends before it starts."""
    message = f"from ({start}) is after to ({end}): a diff runs forward in time"
    raise InvalidInput(message, {"from": [message]})
