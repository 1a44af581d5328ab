"""Read helpers the API needs on top of the projections."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from craton.domain.errors import NotFound
from craton.domain.ids import MAX_ID
from craton.projections import listing, variables
from craton.projections.tables import LIVE

from .auth import Principal


def int_id(kind: str, raw_id: Any) -> int:
    value = int(raw_id)
    if not 0 <= value <= MAX_ID:
        raise NotFound(f"no {kind} with id {raw_id}")
    return value


def locate(conn: Connection, kind: str, raw_id: Any, caller: Principal,
           at: int | None) -> Any:
    """The row the caller may see at ``at``; NotFound (404) otherwise, whoever owns it."""
    scope = caller.project_id
    if kind == "project":
        row = listing.get_project_row(conn, str(raw_id), at)
        if row is not None and scope is not None and row.uuid != scope:
            row = None
    else:
        row = listing.get_row(conn, kind, int_id(kind, raw_id), scope, at)
    if row is None:
        raise NotFound(f"no {kind} with id {raw_id}")
    return row


def any_version(conn: Connection, kind: str, raw_id: Any, caller: Principal) -> Any:
    """The latest row of a resource that ever existed (deleted ones included)."""
    t = LIVE.resources
    conds = [t.c.kind == kind]
    conds.append(t.c.uuid == (listing.project_uuid(str(raw_id)) or "") if kind == "project"
                 else t.c.id == int_id(kind, raw_id))
    if caller.project_id is not None:
        conds.append(t.c.uuid == caller.project_id if kind == "project"
                     else t.c.project_id == caller.project_id)
    row = conn.execute(select(t).where(*conds).order_by(t.c.valid_from.desc())).first()
    if row is None:
        raise NotFound(f"no {kind} with id {raw_id}")
    return row


def show(conn: Connection, row: Any, at: int | None) -> dict[str, Any]:
    """One resource as an item response: fields, labels and own variables."""
    spec = listing.KINDS[row.kind]
    labels = variables.labels_of(conn, [row.id], at)[row.id] if spec.labels else None
    own = variables.values_of(conn, LIVE.variables, [row.id], at)[row.id] \
        if spec.variables else None
    return listing.present(row, labels=labels, variables=own)


def current_version(conn: Connection, resource_id: int) -> Any:
    t = LIVE.resources
    return conn.execute(select(t).where(
        t.c.id == resource_id, t.c.valid_to.is_(None))).first()
