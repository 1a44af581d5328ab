"""What flows read from the ledger: hosts in scope, their instances, the driver's world."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from craton.domain.errors import InvalidInput
from craton.projections.listing import ListQuery, list_rows
from craton.projections.tables import LIVE
from craton.projections.variables import resolved_values, values_of

HOST_LIMIT = 100_000


def host_summary(row: Any) -> dict[str, Any]:
    return {"id": row.id, "name": row.name, "region_id": row.region_id,
            "cell_id": row.cell_id, "cloud_id": row.cloud_id, "active": bool(row.active)}


def facts_to_record(facts: dict[str, Any]) -> dict[str, Any]:
    """A driver's observed facts as the ledger records them (the host is the resource)."""
    return {k: v for k, v in facts.items() if k != "host"}


def hosts_by_id(conn: Connection, project_id: str | None, ids: list[Any]) -> list[Any]:
    """The hosts named by id, or InvalidInput listing every id that is not one."""
    t = LIVE.resources
    wanted = [i for i in ids if isinstance(i, int) and not isinstance(i, bool)]
    conds = [t.c.id.in_(wanted or [-1]), t.c.kind == "host", t.c.valid_to.is_(None)]
    if project_id is not None:
        conds.append(t.c.project_id == project_id)
    rows = {r.id: r for r in conn.execute(select(t).where(*conds))}
    missing = [str(i) for i in ids if i not in rows]
    if missing:
        raise InvalidInput(f"no host with id {', '.join(missing)}",
                           {"hosts": [f"no host with id {i}" for i in missing]})
    return [rows[i] for i in dict.fromkeys(ids)]


def hosts_where(conn: Connection, project_id: str | None, parameters: dict[str, Any]
                ) -> list[Any]:
    """Hosts selected by ids, or by region, cell and label (all that are given)."""
    if parameters.get("hosts"):
        return hosts_by_id(conn, project_id, parameters["hosts"])
    filters: dict[str, Any] = {
        k: parameters[k] for k in ("region_id", "cell_id") if k in parameters}
    labels = [parameters["label"]] if parameters.get("label") else []
    rows, _ = list_rows(conn, ListQuery(kinds=("host",), project_id=project_id,
                                        filters=filters, labels=labels, limit=HOST_LIMIT,
                                        sort_keys=("id",)))
    return rows


def instances_on(conn: Connection, host_ids: list[int]) -> list[Any]:
    t = LIVE.resources
    return list(conn.execute(select(t).where(
        t.c.kind == "instance", t.c.host_id.in_(host_ids or [-1]),
        t.c.valid_to.is_(None)).order_by(t.c.id)))


RATIO_VARIABLES = ("cpu_allocation_ratio", "ram_allocation_ratio", "disk_allocation_ratio")


def world_rows(conn: Connection, host_ids: list[int]
               ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Host and instance rows as a driver models them (names, sizes, observed facts)."""
    t = LIVE.resources
    hosts = list(conn.execute(select(t).where(
        t.c.id.in_(host_ids or [-1]), t.c.valid_to.is_(None))))
    facts = values_of(conn, LIVE.facts, [h.id for h in hosts], None)
    ratios = resolved_values(conn, hosts, None)  # allocation ratios, set at any level
    names = {h.id: h.name for h in hosts}
    host_rows = [{"name": h.name, "active": bool(h.active), "cell_id": h.cell_id,
                  "facts": {k: v for k, v in facts[h.id].items()
                            if k not in ("schedulable", "running_instances", "reachable")},
                  "variables": {k: v for k, v in ratios[h.id].items()
                                if k in RATIO_VARIABLES}}
                 for h in hosts]
    instance_rows = [{"name": i.name, "host": names.get(i.host_id),
                      "vcpus": i.data.get("vcpus"), "memory_mb": i.data.get("memory_mb"),
                      "disk_gb": i.data.get("disk_gb")}
                     for i in instances_on(conn, [h.id for h in hosts])]
    return host_rows, instance_rows
