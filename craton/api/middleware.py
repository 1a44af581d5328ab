"""Per-request plumbing: request ids, bodies, credentials, metrics."""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

import falcon

from craton.codec import UnstorableValue, parse_client_json
from craton.compliance.access_log import record_denied

from .auth import authenticate, request_headers
from .context import Api
from .errors import Problem
from .headers import header_text
from .metrics import Metrics
from .principals import Principals

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:/+=-]{1,64}$")
_WITH_BODY = ("POST", "PUT", "PATCH", "DELETE")
_WHO_CAN_CALL = ("/v1/users", "/v1/projects")  # writes here forget cached callers


log = logging.getLogger(__name__)


class RequestMiddleware:
    """Request id, reason, JSON body (413/415/400), caller (401), metrics."""

    def __init__(self, api: Api, metrics: Metrics):
        self.api, self.metrics = api, metrics
        self.max_body = api.services.settings.max_body_bytes
        self.principals = Principals(api.services.settings.auth_cache_seconds)

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        req.context.started = time.perf_counter()
        given = req.get_header("X-Request-Id")
        req.context.request_id = given if given and _REQUEST_ID.match(given) \
            else uuid.uuid4().hex
        resp.set_header("X-Request-Id", req.context.request_id)
        reason = header_text(req, "X-Craton-Reason")
        req.context.reason = reason[:2000] if reason else None
        req.context.principal = None
        req.context.body = None
        req.context.raw_body = b""
        if "%00" in req.query_string or "\x00" in req.path:
            raise Problem(400, "the request's address holds a NUL character (%00)")
        if req.method in _WITH_BODY:
            self._read_body(req)

    def _read_body(self, req: falcon.Request) -> None:
        raw = self._raw_body(req)
        req.context.raw_body = raw
        if not raw.strip():
            return
        media = (req.content_type or "").split(";")[0].strip().lower()
        if media != "application/json" and not media.endswith("+json"):
            raise Problem(415, "send JSON (Content-Type: application/json)")
        try:
            req.context.body = parse_client_json(raw)
        except UnstorableValue as exc:
            raise Problem(400, f"body: {exc}", {"body": [str(exc)]}) from None
        except ValueError as exc:  # UnicodeDecodeError among them
            raise Problem(400, f"the body is not valid JSON: {exc}",
                          {"body": ["not valid JSON"]}) from None

    def _raw_body(self, req: falcon.Request) -> bytes:
        """The body, at most ``max_body`` bytes (413 beyond). Without a Content-Length
        (a chunked body) it is read to its end when the server marks the input as
        terminated (gunicorn does); ``bounded_stream`` would read nothing."""
        length = req.content_length
        if length is not None and length > self.max_body:
            raise Problem(413, f"the body is over {self.max_body} bytes")
        terminated = length is None and req.env.get("wsgi.input_terminated")
        raw: bytes = (req.stream if terminated else req.bounded_stream).read(self.max_body + 1)
        if len(raw) > self.max_body:
            raise Problem(413, f"the body is over {self.max_body} bytes")
        return raw

    def process_resource(self, req: falcon.Request, resp: falcon.Response,
                         resource: Any, params: dict[str, Any]) -> None:
        if resource is None or getattr(resource, "public", False):
            return
        headers = request_headers(req)
        key = self.principals.key(headers)
        found = self.principals.get(key)
        if found is None:
            generation = self.principals.generation
            with self.api.services.db.reading() as conn:
                found = authenticate(conn, headers)
            self.principals.put(key, found, generation)
            req.context.checked_afresh = True
        req.context.principal = found

    def process_response(self, req: falcon.Request, resp: falcon.Response,
                         resource: Any, req_succeeded: bool) -> None:
        resp.set_header("X-Request-Id", req.context.get("request_id") or uuid.uuid4().hex)
        if (req_succeeded and resp.status_code < 400 and req.method in _WITH_BODY
                and req.context.get("principal") is not None
                and (req.uri_template or "").startswith(_WHO_CAN_CALL)):
            self.principals.forget()  # a user or project changed: check callers again
        if resp.status_code in (401, 403):
            self._record_denied(req, resp)
        elif req.context.get("checked_afresh"):
            self._record_use(req, resp)
        started = req.context.get("started")
        if started is not None:
            route = req.uri_template or "unmatched"
            self.metrics.observe(req.method, route, resp.status_code,
                                 time.perf_counter() - started)

    def _record_use(self, req: falcon.Request, resp: falcon.Response) -> None:
        """A credential checked afresh is a use of it, for the access report: once per
        worker each time its check is no longer trusted (``auth_cache_seconds``), with
        the answer its request got; written in the background, never on the request."""
        principal = req.context.principal
        self.api.credential_uses.note(
            status=resp.status_code, method=req.method, path=req.path,
            user_id=principal.user_id, user_name=principal.name,
            project_id=principal.project_id, remote_addr=req.remote_addr,
            request_id=req.context.get("request_id"))

    def _record_denied(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Refused requests feed the access report; recording never fails the response."""
        principal = req.context.get("principal")
        try:
            record_denied(
                self.api.services, status=resp.status_code, method=req.method,
                path=req.path, user_id=getattr(principal, "user_id", None),
                user_name=getattr(principal, "name", None) or header_text(req, "X-Auth-User"),
                project_id=getattr(principal, "project_id", None),
                remote_addr=req.remote_addr, request_id=req.context.get("request_id"))
        except Exception:  # the access log is evidence, not a reason to fail a response
            log.exception("could not record a denied request")
