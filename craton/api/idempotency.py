"""``Idempotency-Key`` on POST: the first response, stored in the database, answers retries.

The record is written in the transaction of the command it answers for, and
writers are serialised, so two workers never both run one key.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import falcon
from sqlalchemy import (
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    select,
)

from craton.bootstrap import Services

from .context import Api, principal
from .errors import Problem

METADATA = MetaData()
KEYS = Table(
    "api_idempotency_keys", METADATA,
    Column("actor_id", String(32), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("request_hash", String(64), nullable=False),
    Column("status", Integer, nullable=False),
    Column("body", Text, nullable=False),
    Column("location", String(500)),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
_LOCK = 7_246_101  # advisory lock key guarding table creation on PostgreSQL
# A stored reply is its body and headers under this marker; a record kept before
# headers were stored is the bare body (no response body has this key).
_PACKED = "craton_reply"


@dataclass
class Reply:
    """A response to send and, for a key, to remember."""

    status: int
    body: dict[str, Any]
    location: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    once: tuple[str, ...] = ()  # body keys never stored (a token shown once)


def create_table(services: Services) -> None:
    services.db.create_once(METADATA, _LOCK)


def _unpacked(text: str) -> tuple[dict[str, Any], dict[str, str]]:
    stored = json.loads(text)
    if isinstance(stored, dict) and stored.get(_PACKED) == 1:
        return stored["body"], stored["headers"]
    return stored, {}


def respond(api: Api, req: falcon.Request, resp: falcon.Response,
            produce: Callable[[], Reply]) -> None:
    """Run ``produce`` in one write transaction, or replay the first response to its key."""
    key = req.get_header("Idempotency-Key")
    if key is not None and not 0 < len(key) <= 255:
        raise Problem(400, "Idempotency-Key must be 1 to 255 characters",
                      {"Idempotency-Key": ["1 to 255 characters"]})
    with api.writing() as conn:
        if key is None:
            reply = produce()
        else:
            caller = principal(req)
            actor = str(caller.user_id)
            # The same path and body in another project (root acting in it) is another
            # request: it must not be answered with the first project's resource.
            digest = hashlib.sha256(
                req.path.encode() + b"\0" + (caller.project_id or "").encode() + b"\0"
                + req.context.raw_body).hexdigest()
            stored = conn.execute(select(KEYS).where(
                KEYS.c.actor_id == actor, KEYS.c.key == key)).first()
            if stored is not None:
                if stored.request_hash != digest:
                    raise Problem(409, "this Idempotency-Key was used for another request")
                body, headers = _unpacked(stored.body)
                reply = Reply(stored.status, body, stored.location,
                              {**headers, "Idempotent-Replayed": "true"})
            else:
                reply = produce()
                kept = {k: v for k, v in reply.body.items() if k not in reply.once}
                conn.execute(KEYS.insert().values(
                    actor_id=actor, key=key, request_hash=digest, status=reply.status,
                    body=json.dumps({_PACKED: 1, "body": kept, "headers": reply.headers}),
                    location=reply.location, created_at=datetime.now(UTC)))
    resp.status = falcon.code_to_http_status(reply.status)
    resp.media = reply.body
    if reply.location:
        resp.location = reply.location
    for name, value in reply.headers.items():
        resp.set_header(name, value)
