"""What every resource shares: the services, the caller, snapshots and writes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import falcon
from marshmallow import Schema
from sqlalchemy import Connection

from craton.bootstrap import Services
from craton.compliance.access_log import CredentialUses
from craton.domain.meta import Meta
from craton.projections import timeline
from craton.projections.items import TextPage, list_texts, spelt
from craton.projections.listing import ListQuery

from . import policy
from .auth import Principal
from .errors import Problem
from .params import AsOfParams, load_params
from .queries import locate


@dataclass
class Snapshot:
    """One consistent read: its connection, the position asked for, and what it reflects."""

    conn: Connection
    at: int | None
    position: int


@dataclass
class Api:
    """The services a request needs; built by ``create_app`` and handed to resources."""

    services: Services
    credential_uses: CredentialUses = field(init=False)

    def __post_init__(self) -> None:
        self.credential_uses = CredentialUses(self.services)

    @contextmanager
    def snapshot(self, as_of: str | None = None) -> Iterator[Snapshot]:
        """Read at ``as_of`` (a time or @position) or now, inside one snapshot."""
        with self.services.db.reading() as conn:
            head = timeline.head(conn)
            at = timeline.resolve(conn, as_of)
            yield Snapshot(conn, at, head if at is None else min(at, head))

    def first_page(self, query: ListQuery, as_of: str | None
                   ) -> tuple[TextPage, int] | None:
        """The first page of a listing now, spelt, and the log's head it was read at,
        by one statement (``list_texts`` ``with_head``): on PostgreSQL no transaction
        around it, so no BEGIN and COMMIT. None where that does not apply (``as_of``
        asked, a marker, a subtree, a kind not spelt, an empty page): read it in
        ``snapshot``."""
        if (as_of is not None or query.at is not None or query.marker is not None
                or query.descendants_of is not None or not spelt(query)):
            return None
        with self.services.db.one_statement() as conn:
            page = list_texts(conn, query, with_head=True)
        return None if page is None or page.head is None else (page, page.head)

    @contextmanager
    def writing(self) -> Iterator[Connection]:
        """One write transaction; the ledger's commands join it."""
        with self.services.db.writing() as session:
            yield session.connection()


@dataclass
class ItemRead:
    """One resource read inside a snapshot: the row, where it was read, and the query string."""

    conn: Connection
    at: int | None
    row: Any
    params: dict[str, Any]


def principal(req: falcon.Request) -> Principal:
    """The authenticated caller; 401 when there is none."""
    found: Principal | None = getattr(req.context, "principal", None)
    if found is None:  # public resources never ask; a guard for the others
        raise Problem(401, "credentials required")
    return found


def meta(req: falcon.Request) -> Meta:
    """Who, where and why, for the events a write records."""
    caller = principal(req)
    return Meta(
        actor_id=caller.user_id, actor_name=caller.name, source="api",
        project_id=caller.project_id, request_id=req.context.request_id,
        reason=req.context.reason,
    )


def body(req: falcon.Request, schema: Schema) -> dict[str, Any]:
    """The JSON body through ``schema`` (a ValidationError becomes a 400 listing every problem)."""
    data = req.context.body
    result: dict[str, Any] = schema.load({} if data is None else data)
    return result


def if_match(req: falcon.Request) -> frozenset[int] | None:
    """The versions a write accepts, from ``If-Match``; ``None`` (any) for no header
    or ``*``. The ledger compares them with the current version under its write
    lock, and refuses any other (412).

    A list (``"1", "4"``) accepts each of its tags. Comparison is strong (RFC 9110):
    a weak tag (``W/"3"``) or anything that is not one of our ETags accepts nothing.
    """
    value = req.get_header("If-Match")
    if value is None or value.strip() == "*":
        return None
    versions = set()
    for tag in (t.strip() for t in value.split(",")):
        inner = tag[1:-1] if len(tag) >= 2 and tag[0] == tag[-1] == '"' else ""
        if inner.isdigit() and inner.isascii():
            versions.add(int(inner))
    return frozenset(versions)


def set_position(resp: falcon.Response, position: int) -> None:
    resp.set_header("X-Craton-Position", str(position))


def set_etag(resp: falcon.Response, version: int) -> None:
    resp.set_header("ETag", f'"{version}"')


def authorise(req: falcon.Request, subject: str, action: str, params: Schema
              ) -> tuple[Principal, dict[str, Any]]:
    """The caller, allowed ``action`` on ``subject`` (403 otherwise), and its query string."""
    caller = principal(req)
    policy.require(caller, subject, action)
    return caller, load_params(params, req)


@contextmanager
def read_item(api: Api, req: falcon.Request, resp: falcon.Response, kind: str, raw_id: Any,
              params: Schema = AsOfParams) -> Iterator[ItemRead]:
    """Read one resource the caller may see, then answer its position and ETag."""
    caller, q = authorise(req, kind, policy.READ, params)
    with api.snapshot(q.get("as_of")) as snap:
        row = locate(snap.conn, kind, raw_id, caller, snap.at)
        yield ItemRead(snap.conn, snap.at, row, q)
    set_position(resp, snap.position)
    set_etag(resp, row.version)
