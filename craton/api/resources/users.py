"""What is particular to users: who may grant which role, and the token shown once."""

from __future__ import annotations

from typing import Any

import falcon
from sqlalchemy import Connection

from craton.projections import listing

from ..auth import hash_token, new_secret
from ..context import Api, meta, principal
from ..errors import Problem
from ..queries import current_version


def _check_role(caller_role: str, role: str) -> None:
    if role == "root" and caller_role != "root":
        raise Problem(403, "only root may grant the root role")


def create(api: Api, req: falcon.Request, data: dict[str, Any]
           ) -> tuple[dict[str, Any], dict[str, Any]]:
    """Register a user in the caller's (or, for root, the named) project; return its token."""
    caller = principal(req)
    role = data["role"]
    _check_role(caller.role, role)
    named = str(data["project_id"]) if data.get("project_id") else None
    if role == "root":
        if named is not None:
            raise Problem(400, "root users belong to no project",
                          {"project_id": ["must be absent for role root"]})
        project = None
    else:
        project = named or caller.project_id
        if project is None:
            raise Problem(400, "a user belongs to a project: name one "
                               "(project_id, or X-Auth-Project)",
                          {"project_id": ["required"]})
        if caller.project_id is not None and project != caller.project_id:
            # Said without looking the named project up: whether it exists is not the
            # point, and an admin may not learn of other projects.
            raise Problem(400, f"project_id {project} is not the project this request "
                               f"acts in ({caller.project_id}, from the credentials or "
                               "X-Auth-Project): name that one, or leave project_id out",
                          {"project_id": ["differs from the project the request acts in"]})
        with api.snapshot() as snap:
            if listing.get_project_row(snap.conn, project, None) is None:
                raise Problem(400, f"no project {project}",
                              {"project_id": ["unknown project"]})
    secret = new_secret()
    row = api.services.ledger.register(
        meta(req).for_project(project), "user",
        {"name": data["username"], "role": role}, secret=hash_token(secret))
    return row, {"token": f"{row['id']}.{secret}"}


def changes(conn: Connection, caller: Any, user_id: int, data: dict[str, Any]
            ) -> dict[str, Any]:
    """A user PUT as field changes; the root role is neither given nor taken here."""
    out = {("name" if k == "username" else k): v for k, v in data.items()}
    if "role" in out:
        _check_role(caller.role, out["role"])
        current = current_version(conn, user_id)
        was_root = current.data.get("role") == "root"
        if (out["role"] == "root") != was_root:
            raise Problem(400, "root users belong to no project: create a new user instead",
                          {"role": ["cannot move between root and project roles"]})
    return out
