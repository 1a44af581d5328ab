"""Links of a paged listing: first, prev, self, next, pinned to one snapshot."""

from __future__ import annotations

from dataclasses import replace
from typing import Any
from urllib.parse import urlencode

import falcon
import orjson
from sqlalchemy import Connection

from craton.projections.items import TextPage
from craton.projections.listing import ListQuery, list_rows

from .context import set_position


def href(req: falcon.Request, position: int, pin: str = "as_of", **changes: Any) -> str:
    return _linked(req, position, pin)(**changes)


def _linked(req: falcon.Request, position: int, pin: str = "as_of") -> Any:
    """``href`` for one request: its query string (without a marker, pinned at
    ``position`` by ``pin``: ``as_of``, or a diff's ``to``) encoded once, each link's
    own values after it."""
    params: dict[str, Any] = {k: v for k, v in req.params.items()
                              if k not in ("marker", pin, "after")}
    params[pin] = f"@{position}"
    query = urlencode(params, doseq=True)
    base = f"{req.path}?{query}" if query else req.path

    def link(**changes: Any) -> str:
        given = {k: v for k, v in changes.items() if v is not None}
        if not given:
            return base
        return f"{base}{'&' if query else '?'}{urlencode(given, doseq=True)}"
    return link


def previous_marker(conn: Connection, q: ListQuery) -> tuple[bool, Any]:
    """Whether a page precedes this one, and the row after which it starts (None: first)."""
    if q.marker is None:
        return False, None
    back = replace(q, sort_dir="asc" if q.sort_dir == "desc" else "desc",
                   limit=q.limit, details=False, with_labels=False)
    before, _ = list_rows(conn, back)
    if len(before) < q.limit:
        return True, None
    return True, before[-1]


def links(req: falcon.Request, position: int, marker: Any, last: Any, more: bool,
          prev: tuple[bool, Any]) -> list[dict[str, str]]:
    """first, prev (when a page precedes), self, next (when one follows); pinned at
    ``position``, so a client walking the pages reads one moment."""
    link = _linked(req, position)
    out = [{"rel": "first", "href": link()}]
    has_prev, prev_marker = prev
    if has_prev:
        out.append({"rel": "prev", "href": link(marker=prev_marker)})
    out.append({"rel": "self", "href": link(marker=marker)})
    if more and last is not None:
        out.append({"rel": "next", "href": link(marker=last)})
    return out


def text_array(texts: list[str]) -> str:
    """A JSON array of values that are JSON text already."""
    return f"[{','.join(texts)}]"


def text_object(members: dict[str, str]) -> str:
    """A JSON object of values that are JSON text already."""
    return "{" + ",".join(f"{orjson.dumps(k).decode()}:{v}" for k, v in members.items()) + "}"


def answer_text(req: falcon.Request, resp: falcon.Response, name: str, items: str,
                page: TextPage, position: int, marker: Any, prev: tuple[bool, Any]) -> None:
    """A listing's response, ``{name: items, "links": [...]}``, with ``items`` JSON
    text already (``page``'s, spelt: ``projections.spelling``), at ``position``."""
    page_links = links(req, position, marker, page.ids[-1] if page.ids else None,
                       page.more, prev)
    set_position(resp, position)
    resp.content_type = falcon.MEDIA_JSON
    resp.data = b"".join((b"{", orjson.dumps(name), b":", items.encode(), b',"links":',
                          orjson.dumps(page_links), b"}"))


def id_links(conn: Connection, req: falcon.Request, position: int, query: ListQuery,
             rows: list[Any], more: bool) -> list[dict[str, str]]:
    """``links`` of a listing paged by id (runs, plans), pinned at ``position``."""
    has_prev, before = previous_marker(conn, query)
    return links(req, position, query.marker, rows[-1].id if rows else None, more,
                 (has_prev, before.id if before is not None else None))
