"""Every error the API answers with, in one shape: status, message, errors."""

from __future__ import annotations

import logging
from typing import Any

import falcon
from marshmallow import ValidationError

from craton.db import statement_timed_out, unavailable
from craton.domain.errors import DomainError

log = logging.getLogger("craton.api")
UNAVAILABLE_RETRY_S = 5  # Retry-After when the database cannot be reached


class Problem(falcon.HTTPError):
    """An HTTP error carrying a message for a person and per-field problems."""

    def __init__(self, status: int, message: str,
                 errors: dict[str, list[str]] | None = None,
                 headers: dict[str, str] | None = None):
        super().__init__(falcon.code_to_http_status(status), title=message,
                         description=message, headers=headers)
        self.message = message
        self.errors = errors or {}


def flatten(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """Marshmallow's nested messages as ``{"field.sub": ["..."]}``."""
    out: dict[str, list[str]] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            if key == "_schema":
                name = prefix or "body"
            for k, v in flatten(value, name).items():
                out.setdefault(k, []).extend(v)
    elif isinstance(messages, list | tuple):
        if all(isinstance(m, str) for m in messages):
            out[prefix or "body"] = [str(m) for m in messages]
        else:
            for m in messages:
                for k, v in flatten(m, prefix).items():
                    out.setdefault(k, []).extend(v)
    else:
        out[prefix or "body"] = [str(messages)]
    return out


def summary(errors: dict[str, list[str]]) -> str:
    return "; ".join(f"{k}: {', '.join(v)}" for k, v in sorted(errors.items()))


def invalid(errors: dict[str, list[str]], what: str = "request") -> Problem:
    return Problem(400, f"invalid {what}: {summary(errors)}", errors)


def handle_domain_error(req: falcon.Request, resp: falcon.Response,
                        ex: DomainError, params: dict[str, Any]) -> None:
    """The one place where a domain error becomes an HTTP error (a busy ledger says
    when to retry)."""
    retry = {"Retry-After": "1"} if ex.status == 503 else None
    raise Problem(ex.status, ex.message, ex.errors, retry)


def handle_validation_error(req: falcon.Request, resp: falcon.Response,
                            ex: ValidationError, params: dict[str, Any]) -> None:
    raise invalid(flatten(ex.messages))


def handle_unexpected(req: falcon.Request, resp: falcon.Response,
                      ex: Exception, params: dict[str, Any]) -> None:
    """A bug: log it with the request id, answer without details."""
    if isinstance(ex, falcon.HTTPError | falcon.HTTPStatus):
        raise ex
    if statement_timed_out(ex):  # a query too large for one request, not a bug
        log.warning("statement timed out on %s %s (request %s)", req.method, req.path,
                    getattr(req.context, "request_id", "?"))
        raise Problem(503, "the database stopped this request's query: it ran past the "
                           "server's time limit; narrow it (fewer filters, a shorter window)")
    if unavailable(ex):  # not a bug: the database is down, restarting or unwritable
        log.warning("database unavailable on %s %s (request %s): %s", req.method, req.path,
                    getattr(req.context, "request_id", "?"), _first_line(ex))
        raise Problem(503, "the database is unavailable just now: retry shortly",
                      headers={"Retry-After": str(UNAVAILABLE_RETRY_S)})
    log.exception("unexpected error on %s %s (request %s)", req.method, req.path,
                  getattr(req.context, "request_id", "?"))
    raise Problem(500, "internal error; the request id identifies it in the logs")


def serialize(req: falcon.Request, resp: falcon.Response, ex: falcon.HTTPError) -> None:
    body: dict[str, Any] = {
        "status": int(ex.status_code),
        "message": getattr(ex, "message", None) or ex.description or ex.title,
    }
    errors = getattr(ex, "errors", None)
    if errors:
        body["errors"] = errors
    resp.content_type = falcon.MEDIA_JSON
    resp.media = body


def install(app: falcon.App) -> None:
    app.add_error_handler(Exception, handle_unexpected)
    app.add_error_handler(DomainError, handle_domain_error)
    app.add_error_handler(ValidationError, handle_validation_error)
    app.set_error_serializer(serialize)


def _first_line(ex: BaseException) -> str:
    """The driver's own message, first line: enough for a log line, no traceback."""
    found = getattr(ex, "orig", None) or ex
    text = str(found).strip().splitlines()
    return f"{type(found).__name__}: {text[0] if text else ''}"
