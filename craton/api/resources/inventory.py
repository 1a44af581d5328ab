"""Collections and items of every inventory kind: list, create, get, update, delete."""

from __future__ import annotations

from typing import Any

import falcon

from craton.domain.kinds import KINDS, Kind
from craton.projections.items import list_items, list_texts
from craton.projections.listing import PRESENTED, ListQuery, public_id
from craton.projections.timeline import head

from .. import policy
from ..context import (
    Api,
    authorise,
    body,
    if_match,
    meta,
    principal,
    read_item,
    set_etag,
    set_position,
)
from ..docs import WRITE_ERRORS, Op
from ..errors import Problem
from ..idempotency import Reply, respond
from ..paging import answer_text, links, previous_marker, text_array
from ..params import AsOfParams, filters_of, list_params
from ..queries import current_version, locate, show
from ..schemas import body_schema, item_schema, list_schema
from . import users


def list_query(kind_names: tuple[str, ...], q: dict[str, Any], scope: str | None,
               at: int | None) -> ListQuery:
    kinds = tuple(KINDS[k] for k in kind_names)
    return ListQuery(
        kinds=kind_names, project_id=scope,
        filters={f: q[f] for f in filters_of(kinds) if f in q},
        labels=q.get("label", []), vars=q.get("vars") or {},
        resolved_vars=q.get("resolved_values", False), limit=q["limit"],
        marker=q.get("marker"), sort_keys=tuple(q["sort_keys"]), sort_dir=q["sort_dir"],
        at=at, details=q["details"], with_labels=True, columns=PRESENTED)


class Collection:
    """``/v1/<plural>``."""

    def __init__(self, api: Api, kind: Kind):
        self.api, self.kind = api, kind
        self.docs = {
            "GET": Op(f"List {kind.plural}", list_params((kind.name,)), None,
                      list_schema(kind.plural)),
            "POST": Op(f"Create a {kind.name}", None, body_schema(kind.name, True),
                       item_schema(kind.name), 201, WRITE_ERRORS, idempotent_key=True),
        }

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        caller, q = authorise(req, self.kind.name, policy.LIST, list_params((self.kind.name,)))
        scope = None if self.kind.name == "project" else caller.project_id
        first = self.api.first_page(list_query((self.kind.name,), q, scope, None),
                                    q.get("as_of"))
        if first is not None:
            texts, position = first
            answer_text(req, resp, self.kind.plural, text_array(texts.texts), texts,
                        position, None, (False, None))
            return
        with self.api.snapshot(q.get("as_of")) as snap:
            marker = q.get("marker")
            if self.kind.name == "project" and marker is not None:
                q["marker"] = locate(snap.conn, "project", marker, caller, snap.at).id
            query = list_query((self.kind.name,), q, scope, snap.at)
            if self.kind.name == "project":
                query.filters = {"name": q["name"]} if "name" in q else {}
                if caller.project_id is not None:  # a caller inside a project sees it only
                    query.filters["uuid"] = caller.project_id
            spelt = list_texts(snap.conn, query)
            if spelt is None:
                page = list_items(snap.conn, query)
                items, more = page.items, page.more
            has_prev, before = previous_marker(snap.conn, query)
        prev = (has_prev, public_id(before) if before is not None else None)
        if spelt is not None:
            answer_text(req, resp, self.kind.plural, text_array(spelt.texts), spelt,
                        snap.position, marker, prev)
            return
        set_position(resp, snap.position)
        resp.media = {self.kind.plural: items, "links": links(
            req, snap.position, marker, items[-1]["id"] if items else None, more, prev)}

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        caller = principal(req)
        policy.require(caller, self.kind.name, policy.CREATE)
        data = body(req, body_schema(self.kind.name, True))

        def produce() -> Reply:
            if self.kind.name == "user":
                row, extra = users.create(self.api, req, data)
            else:
                variables, labels = data.pop("variables", None), data.pop("labels", None)
                row, extra = self.api.services.ledger.register(
                    meta(req), self.kind.name, data, variables, labels), {}
            with self.api.snapshot() as snap:
                stored = current_version(snap.conn, row["id"])
                item = {**show(snap.conn, stored, None), **extra}
            return Reply(201, item, f"/v1/{self.kind.plural}/{item['id']}",
                         {"ETag": f'"{stored.version}"',
                          "X-Craton-Position": str(snap.position)}, once=tuple(extra))

        respond(self.api, req, resp, produce)


class Item:
    """``/v1/<plural>/<id>``."""

    def __init__(self, api: Api, kind: Kind):
        self.api, self.kind = api, kind
        self.docs = {
            "GET": Op(f"Show a {kind.name}", AsOfParams, None, item_schema(kind.name)),
            "PUT": Op(f"Change some fields of a {kind.name}", None,
                      body_schema(kind.name, False), item_schema(kind.name), 200,
                      WRITE_ERRORS, if_match=True),
            "DELETE": Op(f"Delete a {kind.name}", None, None, None, 204,
                         (401, 403, 404, 409, 412), if_match=True),
        }

    def on_get(self, req: falcon.Request, resp: falcon.Response, id: Any) -> None:
        with read_item(self.api, req, resp, self.kind.name, id) as read:
            resp.media = show(read.conn, read.row, read.at)

    def on_put(self, req: falcon.Request, resp: falcon.Response, id: Any) -> None:
        caller = principal(req)
        policy.require(caller, self.kind.name, policy.WRITE)
        changes = body(req, body_schema(self.kind.name, False))
        expected = if_match(req)
        with self.api.writing() as conn:
            rid = locate(conn, self.kind.name, id, caller, None).id
            if self.kind.name == "user":
                changes = users.changes(conn, caller, rid, changes)
            self.api.services.ledger.update(meta(req), self.kind.name, rid, changes, expected)
            row = current_version(conn, rid)
            resp.media = show(conn, row, None)
            set_position(resp, self.api.services.ledger.written_position() or head(conn))
        set_etag(resp, row.version)

    def on_delete(self, req: falcon.Request, resp: falcon.Response, id: Any) -> None:
        caller = principal(req)
        policy.require(caller, self.kind.name, policy.DELETE)
        expected = if_match(req)
        with self.api.writing() as conn:
            rid = locate(conn, self.kind.name, id, caller, None).id
            if self.kind.name == "user" and rid == caller.user_id:
                raise Problem(409, "a user cannot delete itself")
            self.api.services.ledger.delete(meta(req), self.kind.name, rid, expected)
        resp.status = falcon.HTTP_204
