"""The current inventory as the domain rules see it."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Select, Table, bindparam, func, or_, select

from craton.domain.kinds import REFERENCE_FIELDS
from craton.projections.tables import LIVE, Tables


def as_resource(row: Any) -> dict[str, Any]:
    """A resource row (a result row, or a dict as the projector holds them) as a plain
    dict: identity, project, name and fields."""
    return as_resource_row(row if isinstance(row, Mapping) else row._mapping)


# The columns ``as_resource_row`` reads.
RESOURCE_COLUMNS = ("id", "uuid", "kind", "project_id", "name", "version", "data",
                    "created_at", "updated_at")


def as_resource_row(row: Mapping[Any, Any]) -> dict[str, Any]:
    """``as_resource`` of a row held as a mapping."""
    return {
        "id": row["id"], "uuid": row["uuid"], "kind": row["kind"],
        "project_id": row["project_id"], "name": row["name"], "version": row["version"],
        "fields": dict(row["data"]), "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }


@lru_cache(maxsize=16)  # a few sets of tables: the live ones, a rebuild's
def _live_by_id(table: Table) -> Select[Any]:
    """A resource's live row by id: built once per table (every command reads one)."""
    return select(table).where(table.c.id == bindparam("id"), table.c.valid_to.is_(None))


class CurrentLookup:
    """Implements the domain's Lookup over the live read models."""

    def __init__(self, conn: Connection, tables: Tables = LIVE):
        self.conn, self.t, self.members = conn, tables.resources, tables.members

    def current(self, resource_id: int) -> dict[str, Any] | None:
        row = self.conn.execute(_live_by_id(self.t), {"id": resource_id}).first()
        return as_resource(row) if row else None

    def current_row(self, resource_id: int) -> dict[str, Any] | None:
        """The live row itself, every column."""
        row = self.conn.execute(_live_by_id(self.t), {"id": resource_id}).mappings().first()
        return dict(row) if row else None

    def by_uuid(self, uuid: str) -> dict[str, Any] | None:
        row = self.conn.execute(
            select(self.t).where(self.t.c.uuid == uuid, self.t.c.valid_to.is_(None))
        ).first()
        return as_resource(row) if row else None

    def name_holder(self, unique_key: str) -> int | None:
        return self.conn.execute(
            select(self.t.c.id).where(
                self.t.c.unique_key == unique_key, self.t.c.valid_to.is_(None))
        ).scalar()

    def children(self, resource_id: int, limit: int = 5) -> list[dict[str, Any]]:
        t = self.t
        rows = self.conn.execute(select(t.c.id, t.c.kind, t.c.name).where(
            *self._referring(resource_id)).order_by(t.c.id).limit(limit)).all()
        out = [{"id": r.id, "kind": r.kind, "name": r.name} for r in rows]
        if len(out) < limit:
            rows = self.conn.execute(select(t.c.id, t.c.kind, t.c.name).join(
                self.members, self.members.c.resource_id == t.c.id).where(
                *self._members_of(resource_id)).limit(limit - len(out))).all()
            out += [{"id": r.id, "kind": r.kind, "name": r.name} for r in rows]
        return out

    def children_count(self, resource_id: int) -> int:
        t, m = self.t, self.members
        referring = self.conn.execute(select(func.count()).select_from(t).where(
            *self._referring(resource_id))).scalar()
        members = self.conn.execute(select(func.count()).select_from(
            m.join(t, m.c.resource_id == t.c.id)).where(*self._members_of(resource_id))
        ).scalar()
        return int(referring or 0) + int(members or 0)

    def _referring(self, resource_id: int) -> list[Any]:
        """Live resources whose reference fields name ``resource_id``."""
        t = self.t
        return [t.c.valid_to.is_(None),
                or_(*(getattr(t.c, f) == resource_id for f in REFERENCE_FIELDS))]

    def _members_of(self, group_id: int) -> list[Any]:
        """Live members of a group (with the members table joined to the resources)."""
        m, t = self.members, self.t
        return [m.c.group_id == group_id, m.c.valid_to.is_(None), t.c.valid_to.is_(None)]

    def project_by_uuid(self, uuid: str) -> dict[str, Any] | None:
        row = self.by_uuid(uuid)
        return row if row and row["kind"] == "project" else None
