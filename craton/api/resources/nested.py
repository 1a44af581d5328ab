"""Variables, labels and facts of one resource."""

from __future__ import annotations

from typing import Any

import falcon

from craton.domain.kinds import Kind
from craton.projections import variables
from craton.projections.listing import public_id
from craton.projections.tables import LIVE
from craton.projections.timeline import head

from .. import context, policy
from ..context import Api, ItemRead, body, if_match, meta, principal, read_item, set_etag
from ..docs import WRITE_ERRORS, Op
from ..params import AsOfParams, VariablesParams
from ..queries import int_id, locate
from ..schemas import (
    FactsOut,
    LabelsBody,
    LabelsOut,
    VariableKeysBody,
    VariablesBody,
    VariablesOut,
)


def _source(row: Any) -> dict[str, Any]:
    return {"type": row.kind, "id": public_id(row),
            "name": row.name}


def _variables(read: ItemRead) -> dict[str, Any]:
    """Resolved (with the resource each value comes from, on ``blame``) or own variables."""
    row, q = read.row, read.params
    out: dict[str, Any] = {"resolved": q["resolved_values"]}
    if q["resolved_values"] and not q["blame"]:
        values = variables.resolved_values(read.conn, [row], read.at)[row.id]
        out["variables"] = dict(sorted(values.items()))
        return out
    if q["resolved_values"]:
        found = variables.resolved(read.conn, [row], read.at)[row.id]
        out["variables"] = {k: v for k, (v, _) in sorted(found.items())}
        out["blame"] = {k: _source(src) for k, (_, src) in sorted(found.items())}
        return out
    own = variables.values_of(read.conn, LIVE.variables, [row.id], read.at)[row.id]
    out["variables"] = own
    if q["blame"]:
        out["blame"] = {k: _source(row) for k in own}
    return out


class _Nested:
    def __init__(self, api: Api, kind: Kind):
        self.api, self.kind = api, kind

    def _change(self, req: falcon.Request, resp: falcon.Response, id: Any,
                command: str, *args: Any) -> None:
        caller = principal(req)
        expected = if_match(req)
        with self.api.writing() as conn:
            # Projects are named by uuid; the ledger itself refuses other projects' ids.
            rid = locate(conn, self.kind.name, id, caller, None).id \
                if self.kind.name == "project" else int_id(self.kind.name, id)
            changed = getattr(self.api.services.ledger, command)(
                meta(req), self.kind.name, rid, *args, expected_version=expected)
            context.set_position(
                resp, self.api.services.ledger.written_position() or head(conn))
        resp.media = self._own(changed)
        set_etag(resp, changed["version"])

    def _own(self, changed: dict[str, Any]) -> dict[str, Any]:
        """The response body, from what the command returned (no second read)."""
        raise NotImplementedError


class Variables(_Nested):
    """``/v1/<plural>/<id>/variables``: resolved or own; PUT sets keys, DELETE removes them."""

    def __init__(self, api: Api, kind: Kind):
        super().__init__(api, kind)
        self.docs = {
            "GET": Op(f"Variables of a {kind.name}", VariablesParams, None, VariablesOut),
            "PUT": Op("Set variables (top-level keys, values replaced whole)", None,
                      VariablesBody, VariablesOut, 200, WRITE_ERRORS, if_match=True),
            "DELETE": Op("Remove variables by key", None, VariableKeysBody, VariablesOut,
                         200, WRITE_ERRORS, if_match=True),
        }

    def on_get(self, req: falcon.Request, resp: falcon.Response, id: Any) -> None:
        with read_item(self.api, req, resp, self.kind.name, id, VariablesParams) as read:
            resp.media = _variables(read)

    def on_put(self, req: falcon.Request, resp: falcon.Response, id: Any) -> None:
        policy.require(principal(req), self.kind.name, policy.WRITE)
        values = body(req, VariablesBody)["variables"]
        self._change(req, resp, id, "set_variables", values)

    def on_delete(self, req: falcon.Request, resp: falcon.Response, id: Any) -> None:
        policy.require(principal(req), self.kind.name, policy.WRITE)
        keys = body(req, VariableKeysBody)["variables"]
        self._change(req, resp, id, "delete_variables", keys)

    def _own(self, changed: dict[str, Any]) -> dict[str, Any]:
        return {"variables": changed["variables"], "resolved": False}


class Labels(_Nested):
    """``/v1/<plural>/<id>/labels``: PUT adds, DELETE removes; both answer the full list."""

    def __init__(self, api: Api, kind: Kind):
        super().__init__(api, kind)
        self.docs = {
            "GET": Op(f"Labels of a {kind.name}", AsOfParams, None, LabelsOut),
            "PUT": Op("Add labels", None, LabelsBody, LabelsOut, 200, WRITE_ERRORS,
                      if_match=True),
            "DELETE": Op("Remove labels", None, LabelsBody, LabelsOut, 200, WRITE_ERRORS,
                         if_match=True),
        }

    def on_get(self, req: falcon.Request, resp: falcon.Response, id: Any) -> None:
        with read_item(self.api, req, resp, self.kind.name, id) as read:
            labels = variables.labels_of(read.conn, [read.row.id], read.at)[read.row.id]
        resp.media = {"labels": labels}

    def on_put(self, req: falcon.Request, resp: falcon.Response, id: Any) -> None:
        policy.require(principal(req), self.kind.name, policy.WRITE)
        self._change(req, resp, id, "add_labels", body(req, LabelsBody)["labels"])

    def on_delete(self, req: falcon.Request, resp: falcon.Response, id: Any) -> None:
        policy.require(principal(req), self.kind.name, policy.WRITE)
        self._change(req, resp, id, "remove_labels", body(req, LabelsBody)["labels"])

    def _own(self, changed: dict[str, Any]) -> dict[str, Any]:
        return {"labels": changed["labels"]}


class Facts(_Nested):
    """``/v1/<plural>/<id>/facts``: what was observed; read-only here."""

    def __init__(self, api: Api, kind: Kind):
        super().__init__(api, kind)
        self.docs = {"GET": Op(f"Facts observed on a {kind.name}", AsOfParams, None,
                               FactsOut)}

    def on_get(self, req: falcon.Request, resp: falcon.Response, id: Any) -> None:
        with read_item(self.api, req, resp, self.kind.name, id) as read:
            facts = variables.values_of(read.conn, LIVE.facts, [read.row.id], read.at)
        resp.media = {"facts": facts[read.row.id]}
