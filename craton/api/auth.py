"""Who is calling: credentials, salted token hashes, and the root bootstrap.

Tokens are 256-bit random strings from ``secrets.token_urlsafe``, so a fast
salted SHA-256 is enough: a slow KDF protects guessable passwords, and no one
can enumerate a 2**256 space however fast each guess is. Bearer tokens read
``<user id>.<secret>`` so the user is found without scanning every hash.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

import falcon
from sqlalchemy import Connection, select

from craton.bootstrap import Services
from craton.domain.meta import system_meta
from craton.projections.tables import LIVE

from .errors import Problem
from .headers import header_text

ROLES = ("root", "admin", "member", "auditor")
_LOCATING = re.compile(r"^(\d{1,19})\.(.+)$")


@dataclass(frozen=True)
class Principal:
    """An authenticated user, and the project it acts in (None: root across projects)."""

    user_id: int
    name: str
    role: str
    project_id: str | None

    @property
    def is_root(self) -> bool:
        return self.role == "root"


def hash_token(secret: str, salt: str | None = None) -> str:
    salt = salt or secrets.token_hex(16)
    digest = hashlib.sha256(f"{salt}:{secret}".encode()).hexdigest()
    return f"sha256${salt}${digest}"


def token_matches(secret: str, stored: str | None) -> bool:
    if not stored or stored.count("$") != 2:
        return False
    _, salt, _digest = stored.split("$")
    return hmac.compare_digest(hash_token(secret, salt), stored)


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def _user_rows(conn: Connection, **where: Any) -> list[Any]:
    t = LIVE.resources
    conds = [t.c.kind == "user", t.c.valid_to.is_(None)]
    conds += [t.c[k].is_(None) if v is None else t.c[k] == v for k, v in where.items()]
    return list(conn.execute(select(t).where(*conds)))


def _verify(row: Any, token: str) -> bool:
    located = _LOCATING.match(token)
    if located and int(located.group(1)) == row.id:
        return token_matches(located.group(2), row.secret)
    return token_matches(token, row.secret)


def _unauthorized(message: str) -> Problem:
    return Problem(401, message, headers={"WWW-Authenticate": 'Bearer realm="craton"'})


def authenticate(conn: Connection, headers: dict[str, str]) -> Principal:
    """The caller named by the request's credentials; 401 when they do not hold."""
    project: str | None = headers.get("X-AUTH-PROJECT") or None
    if project is not None:
        try:
            project = str(uuid.UUID(project))
        except ValueError:
            raise _unauthorized("X-Auth-Project is not a project id") from None
    bearer = headers.get("AUTHORIZATION", "")
    if bearer:
        scheme, _, token = bearer.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise _unauthorized("use Authorization: Bearer <token>")
        row = _by_bearer(conn, token.strip())
    else:
        user, secret = headers.get("X-AUTH-USER"), headers.get("X-AUTH-TOKEN")
        if not user or not secret:
            raise _unauthorized("credentials required: a bearer token, or "
                                "X-Auth-Project, X-Auth-User and X-Auth-Token")
        candidates = _user_rows(conn, name=user, project_id=project) if project else []
        candidates += _user_rows(conn, name=user, project_id=None)
        row = next((r for r in candidates if _verify(r, secret)), None)
    if row is None:
        raise _unauthorized("wrong credentials")
    role = row.data.get("role")
    if role == "root":
        if project is not None and not _project_exists(conn, project):
            raise _unauthorized(f"no project {project}")
        return Principal(row.id, row.name, role, project)
    if project is not None and project != row.project_id:
        raise _unauthorized("these credentials do not belong to that project")
    return Principal(row.id, row.name, role, row.project_id)


def _by_bearer(conn: Connection, token: str) -> Any | None:
    located = _LOCATING.match(token)
    if located:
        for row in _user_rows(conn, id=int(located.group(1))):
            if _verify(row, token):
                return row
    # Tokens set from outside (CRATON_ROOT_TOKEN) carry no id: few root users to try.
    return next((r for r in _root_users(conn) if _verify(r, token)), None)


def _root_users(conn: Connection) -> list[Any]:
    return [r for r in _user_rows(conn, project_id=None) if r.data.get("role") == "root"]


def _project_exists(conn: Connection, project: str) -> bool:
    t = LIVE.resources
    return conn.execute(select(t.c.id).where(
        t.c.uuid == project, t.c.kind == "project", t.c.valid_to.is_(None))).first() is not None


def ensure_root(services: Services, token: str) -> bool:
    """Create root user ``root`` holding ``token`` unless a root user exists."""
    with services.db.writing() as session:
        if _root_users(session.connection()):
            return False
        services.ledger.register(
            system_meta("root token from the environment"), "user",
            {"name": "root", "role": "root"}, secret=hash_token(token))
        return True


def create_root(services: Services) -> str:
    """Give root user ``root`` (created if absent) a new token and return it."""
    secret = new_secret()
    meta = system_meta("root token issued", source="cli")
    with services.db.writing() as session:
        rows = [r for r in _root_users(session.connection()) if r.name == "root"]
        if rows:
            services.ledger.issue_token(meta, rows[0].id, hash_token(secret))
            return f"{rows[0].id}.{secret}"
        row = services.ledger.register(meta, "user", {"name": "root", "role": "root"},
                                       secret=hash_token(secret))
        return f"{row['id']}.{secret}"


def issue(services: Services, meta: Any, user_id: int) -> str:
    """A fresh token for a user (stored hashed); the only time it is shown."""
    secret = new_secret()
    services.ledger.issue_token(meta, user_id, hash_token(secret))
    return f"{user_id}.{secret}"


def request_headers(req: falcon.Request) -> dict[str, str]:
    """The credential headers, a user name as the client wrote it (UTF-8, not Latin-1)."""
    found = {k: req.headers[k] for k in (
        "X-AUTH-PROJECT", "X-AUTH-USER", "X-AUTH-TOKEN", "AUTHORIZATION") if k in req.headers}
    if "X-AUTH-USER" in found:
        found["X-AUTH-USER"] = header_text(req, "X-Auth-User") or ""
    return found
