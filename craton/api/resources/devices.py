"""Hosts and network devices together, and the Ansible inventory built from hosts."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from typing import Any

import falcon
from sqlalchemy import select

from craton.domain.kinds import DEVICE_KINDS, KINDS
from craton.projections import variables
from craton.projections.items import TextPage, list_items, list_texts
from craton.projections.listing import ListQuery, list_rows, row_labels
from craton.projections.tables import LIVE
from craton.projections.timeline import visible

from .. import policy
from ..context import Api, authorise, set_position
from ..docs import Op
from ..paging import answer_text, links, previous_marker, text_array, text_object
from ..params import AnsibleParams, list_params
from ..schemas import AnsibleOut, DevicesOut
from .inventory import list_query

# The host columns the Ansible inventory reads: what resolving variables follows,
# and what names a host and its groups.
INVENTORY_COLUMNS = (*variables.RESOLVES, "name", "ip_address", "device_type")


class Devices:
    """``/v1/devices``: read-only; ``parent_id`` with ``descendants=true`` walks a subtree."""

    def __init__(self, api: Api):
        self.api = api
        self.docs = {"GET": Op("List hosts and network devices", list_params(DEVICE_KINDS),
                               None, DevicesOut)}

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        caller, q = authorise(req, "host", policy.LIST, list_params(DEVICE_KINDS))
        first = None if q["descendants"] else self.api.first_page(
            list_query(DEVICE_KINDS, q, caller.project_id, None), q.get("as_of"))
        if first is not None:
            _texts(req, resp, *first, None, (False, None))
            return
        with self.api.snapshot(q.get("as_of")) as snap:
            query = list_query(DEVICE_KINDS, q, caller.project_id, snap.at)
            if q["descendants"] and "parent_id" in query.filters:
                query = replace(query, descendants_of=query.filters.pop("parent_id"))
            spelt = list_texts(snap.conn, query)
            page = list_items(snap.conn, query) if spelt is None else None
            has_prev, before = previous_marker(snap.conn, query)
        prev = (has_prev, before.id if before is not None else None)
        if spelt is not None:
            _texts(req, resp, spelt, snap.position, q.get("marker"), prev)
            return
        assert page is not None
        set_position(resp, snap.position)
        grouped: dict[str, list[Any]] = {KINDS[k].plural: [] for k in DEVICE_KINDS}
        for kind, item in zip(page.kinds, page.items, strict=True):
            grouped[KINDS[kind].plural].append(item)
        resp.media = {"devices": grouped, "links": links(
            req, snap.position, q.get("marker"), page.items[-1]["id"] if page.items else None,
            page.more, prev)}


def _texts(req: falcon.Request, resp: falcon.Response, page: TextPage, position: int,
           marker: Any, prev: tuple[bool, Any]) -> None:
    """A page spelt as text, grouped by kind."""
    texts: dict[str, list[str]] = {KINDS[k].plural: [] for k in DEVICE_KINDS}
    for kind, text in zip(page.kinds, page.texts, strict=True):
        texts[KINDS[kind].plural].append(text)
    grouped = text_object({plural: text_array(found) for plural, found in texts.items()})
    answer_text(req, resp, "devices", grouped, page, position, marker, prev)


def _group(groups: dict[str, Any], name: str, host: str) -> None:
    groups.setdefault(name, {"hosts": []})["hosts"].append(host)


def unique_names(named: dict[int, str]) -> dict[int, str]:
    """Each id's name, or, where several share it (a host's name is unique in its region
    only, a region's in its cloud), the name and the id: ``h3-1770``. An inventory
    keyed by bare names would give one host's address and variables to another."""
    counts = Counter(named.values())
    taken = set(counts)
    out: dict[int, str] = {}
    for rid, name in sorted(named.items()):
        if counts[name] > 1:
            name = f"{name}-{rid}"
            while name in taken:  # a host really called that
                name = f"{name}-{rid}"
            taken.add(name)
        out[rid] = name
    return out


class AnsibleInventory:
    """``/v1/ansible-inventory``: groups by region, cell, label and device type."""

    def __init__(self, api: Api):
        self.api = api
        self.docs = {"GET": Op("An Ansible dynamic inventory of hosts", AnsibleParams, None,
                               AnsibleOut)}

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        caller, q = authorise(req, "host", policy.LIST, AnsibleParams)
        filters: dict[str, Any] = {k: q[k] for k in ("region_id", "cell_id") if k in q}
        with self.api.snapshot(q.get("as_of")) as snap:
            query = ListQuery(kinds=("host",), project_id=caller.project_id, filters=filters,
                              labels=q["label"], limit=1000, at=snap.at, with_labels=True,
                              columns=INVENTORY_COLUMNS)
            rows: list[Any] = []
            while True:
                page, more = list_rows(snap.conn, query)
                rows += page
                if not more:
                    break
                query = replace(query, marker=page[-1].id)
            names = self._names(snap.conn, rows, snap.at)
            resolved = variables.resolved_values(snap.conn, rows, snap.at)
        groups: dict[str, Any] = {}
        hostvars: dict[str, Any] = {}
        hosts = unique_names({row.id: row.name for row in rows})
        regions = unique_names({r.region_id: names[r.region_id] for r in rows
                                if r.region_id in names})
        cells = unique_names({r.cell_id: names[r.cell_id] for r in rows if r.cell_id in names})
        for row in rows:
            host = hosts[row.id]
            hostvars[host] = dict(sorted(resolved[row.id].items()))
            if row.ip_address:
                hostvars[host].setdefault("ansible_host", row.ip_address)
            if row.region_id in regions:
                _group(groups, f"region_{regions[row.region_id]}", host)
            if row.cell_id in cells:
                _group(groups, f"cell_{cells[row.cell_id]}", host)
            for label in row_labels(row.labels):
                _group(groups, f"label_{label}", host)
            if row.device_type:
                _group(groups, f"device_type_{row.device_type}", host)
        resp.media = {"all": {"children": sorted(groups)}, **groups,
                      "_meta": {"hostvars": hostvars}}
        set_position(resp, snap.position)

    @staticmethod
    def _names(conn: Any, rows: list[Any], at: int | None) -> dict[int, str]:
        t = LIVE.resources
        ids = sorted({x for r in rows for x in (r.region_id, r.cell_id) if x})
        if not ids:
            return {}
        found = conn.execute(select(t.c.id, t.c.name).where(t.c.id.in_(ids), visible(t, at)))
        return {i: n for i, n in found}
