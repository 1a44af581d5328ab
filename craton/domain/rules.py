"""Rules that need to know about other resources: references, names, cycles."""

from __future__ import annotations

from typing import Any, Protocol

from craton.domain.errors import (
    CycleError,
    HasChildren,
    HostNotActive,
    InvalidReference,
    NameTaken,
)
from craton.domain.kinds import COPIED_LOCATION, KINDS, Kind

MAX_DEPTH = 64


class Lookup(Protocol):
    """What the rules may ask of the current inventory."""

    def current(self, resource_id: int) -> dict[str, Any] | None:
        """The live resource (kind, uuid, project_id, name and fields), if any."""

    def name_holder(self, unique_key: str) -> int | None:
        """The id of the live resource holding this unique name, if any."""

    def children(self, resource_id: int, limit: int = 5) -> list[dict[str, Any]]:
        """Live resources that refer to this one."""

    def children_count(self, resource_id: int) -> int:
        """How many live resources refer to this one (``children``, all of them)."""


def resolve_references(
    lookup: Lookup, spec: Kind, project_id: str | None, fields: dict[str, Any]
) -> dict[str, Any]:
    """Check every reference and fill in the ones implied by others.

    Returns the fields with ``cloud_id`` (and ``region_id``) derived from the
    region or cell when absent; raises InvalidReference listing every problem.
    """
    out = dict(fields)
    errors: dict[str, list[str]] = {}
    rows: dict[str, dict[str, Any]] = {}
    for name, field in spec.fields.items():
        value = out.get(name)
        if not field.refers_to or value is None:
            continue
        for ref in value if isinstance(value, list) else [value]:
            row = lookup.current(ref) if isinstance(ref, int) else None
            if row is None or row["kind"] not in field.refers_to or (
                project_id is not None and row["project_id"] != project_id
            ):
                wanted = " or ".join(field.refers_to)
                errors.setdefault(name, []).append(f"no {wanted} with id {ref!r}")
            elif not isinstance(value, list):
                rows[name] = row
    for child, parent in (("cell_id", "region_id"), ("region_id", "cloud_id"),
                          ("cell_id", "cloud_id")):
        row = rows.get(child)
        if row is None or child in errors or parent not in spec.fields:
            continue
        implied = row["fields"].get(parent)
        if out.get(parent) is None:
            out[parent] = implied
        elif out[parent] != implied:
            errors.setdefault(child, []).append(
                f"{row['kind']} {row['name']!r} is not in {parent[:-3]} {out[parent]}"
            )
    if errors:
        detail = "; ".join(f"{k}: {', '.join(v)}" for k, v in sorted(errors.items()))
        raise InvalidReference(f"invalid reference: {detail}", errors)
    return out


def check_name_free(
    lookup: Lookup, spec: Kind, project_id: str | None, fields: dict[str, Any],
    resource_id: int | None = None,
) -> None:
    key = spec.unique_key(project_id, fields)
    if key is None:
        return
    holder = lookup.name_holder(key)
    if holder is not None and holder != resource_id:
        where = f" in this {spec.name_scope[:-3]}" if spec.name_scope else ""
        # (a project's id is not shown: the caller may not be allowed to see it)
        which = "" if spec.name == "project" else f" (id {holder})"
        raise NameTaken(
            f"a {spec.name} named {fields['name']!r} already exists{where}{which}"
        )


def check_no_cycle(lookup: Lookup, resource_id: int | None, parent_id: int | None) -> None:
    """Refuse a parent that is the device itself or one of its descendants."""
    seen: set[int] = set()
    current = parent_id
    while current is not None:
        if current == resource_id or current in seen or len(seen) > MAX_DEPTH:
            raise CycleError(
                f"parent_id {parent_id} would make device {resource_id} its own ancestor",
                {"parent_id": ["would form a cycle"]},
            )
        seen.add(current)
        row = lookup.current(current)
        current = row["fields"].get("parent_id") if row else None


def check_deletable(lookup: Lookup, row: dict[str, Any]) -> None:
    shown = 5
    children = lookup.children(row["id"], shown)
    if children:
        total = lookup.children_count(row["id"]) if len(children) == shown else len(children)
        names = ", ".join(f"{c['kind']} {c['name']!r} ({c['id']})" for c in children)
        more = f" and {total - len(children):,} more" if total > len(children) else ""
        raise HasChildren(
            f"{row['kind']} {row['name']!r} still has {total:,} "
            f"dependent{'s' if total != 1 else ''}: {names}{more}"
        )


def copying_reference(spec: Kind) -> str | None:
    """The field through which dependents refer to a resource of this kind and copy
    its location (``cell_id`` for a cell), if they do."""
    field = f"{spec.name}_id"
    return field if field in COPIED_LOCATION else None


def moved_fields(spec: Kind, fields: dict[str, Any], changes: dict[str, Any]) -> list[str]:
    """The location fields a change moves that this kind's dependents copy."""
    through = copying_reference(spec)
    if through is None:
        return []
    return [f for f in COPIED_LOCATION[through]
            if f in changes and changes[f] != fields.get(f)]


def check_movable(row: dict[str, Any], moved: list[str], dependents: dict[str, int]) -> None:
    """Refuse to move a region or cell that holds anything: its cells, hosts and
    networks carry its location, and moving them too would be thousands of events
    from one request. The operator empties it first, or moves the dependents."""
    if not moved or not dependents:
        return
    held = ", ".join(f"{n} {kind if n == 1 else KINDS[kind].plural}"
                     for kind, n in sorted(dependents.items()))
    raise HasChildren(
        f"{row['kind']} {row['name']!r} cannot change {' and '.join(moved)}: it holds "
        f"{held}, which would keep the old location; move or delete them first",
        {f: ["the resource has dependents"] for f in moved})


def check_host_active(lookup: Lookup, host_id: int | None) -> None:
    if host_id is None:
        return
    row = lookup.current(host_id)
    if row is not None and not row["fields"].get("active", False):
        raise HostNotActive(
            f"host {row['name']!r} is not active: instances can only be placed on active hosts",
            {"host_id": ["host is not active"]},
        )
