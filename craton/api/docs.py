"""What a responder accepts and answers, declared beside it and read by the OpenAPI builder."""

from __future__ import annotations

from dataclasses import dataclass

from marshmallow import Schema

READ_ERRORS = (400, 401, 403, 404)
WRITE_ERRORS = (400, 401, 403, 404, 409, 412, 413, 415)


@dataclass(frozen=True)
class Op:
    """One operation: its query string, body and success response."""

    summary: str
    params: Schema | None = None
    body: Schema | None = None
    response: Schema | None = None
    status: int = 200
    errors: tuple[int, ...] = READ_ERRORS
    public: bool = False
    media: str = "application/json"
    idempotent_key: bool = False
    if_match: bool = False
