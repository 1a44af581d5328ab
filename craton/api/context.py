"""What every resource shares: the services, the caller, snapshots and writes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import falcon
from marshmallow import Schema
from sqlalchemy import Connection

from craton.bootstrap import Services
from craton.domain.meta import Meta
from craton.projections import timeline

from .auth import Principal
from .errors import Problem


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

    @contextmanager
    def snapshot(self, as_of: str | None = None) -> Iterator[Snapshot]:
        """Read at ``as_of`` (a time or @position) or now, inside one snapshot."""
        with self.services.db.reading() as conn:
            head = timeline.head(conn)
            at = timeline.resolve(conn, as_of)
            yield Snapshot(conn, at, head if at is None else min(at, head))

    @contextmanager
    def writing(self) -> Iterator[Connection]:
        """One write transaction; the ledger's commands join it."""
        with self.services.db.writing() as session:
            yield session.connection()


def principal(req: falcon.Request) -> Principal:
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


def if_match(req: falcon.Request) -> int | None:
    """The version an ``If-Match`` header expects; 412 for one that can never match."""
    value = req.get_header("If-Match")
    if value is None or value.strip() == "*":
        return None
    tag = value.strip().removeprefix("W/").strip('"')
    if tag.isdigit():
        return int(tag)
    raise Problem(412, f"If-Match {value!r} does not match the current version")


def set_position(resp: falcon.Response, position: int) -> None:
    resp.set_header("X-Craton-Position", str(position))


def set_etag(resp: falcon.Response, version: int) -> None:
    resp.set_header("ETag", f'"{version}"')
