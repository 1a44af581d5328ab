"""Consolidation plans over HTTP: ``/v1/plans`` and ``/v1/plans/<id>/execute``."""

from __future__ import annotations

from typing import Any

import falcon
from marshmallow import Schema, fields, validate

from craton.domain.ids import MAX_ID
from craton.planning.service import MAX_TIME_LIMIT_S, execute_plan, solve_plan
from craton.projections.listing import ListQuery, get_row, list_rows, present

from . import policy
from .context import Api, authorise, body, meta, read_item, set_position
from .docs import Op
from .errors import Problem
from .idempotency import Reply, respond
from .paging import id_links
from .params import AsOfParams, PinnedPageParams
from .workflows import NO_PARAMS, NoBody, RunOut

# A plan is never changed through If-Match (no 412), and may be infeasible (422).
WRITE_ERRORS = (400, 401, 403, 404, 409, 413, 415, 422)


class PlanRequest(Schema):
    planner = fields.String(load_default="milp", validate=validate.OneOf(("milp", "greedy")))
    scope = fields.Dict(load_default=dict, metadata={
        "description": "cloud_id, region_id, cell_id, label or hosts (ids)"})
    objective = fields.Dict(load_default=dict, metadata={
        "description": "host_weight, move_weight, moves_by (count|memory), soft_penalty"})
    constraints = fields.Dict(load_default=dict, metadata={
        "description": "pinned_hosts, maintenance_hosts (ids), mip_gap"})
    time_limit_s = fields.Float(load_default=30.0, validate=validate.Range(
        min=0, max=MAX_TIME_LIMIT_S, min_inclusive=False))


class PlanOut(Schema):
    id = fields.Integer()
    uuid = fields.String()
    planner = fields.String()
    state = fields.String()
    position = fields.Integer()
    moves = fields.List(fields.Dict())
    hosts_freed = fields.List(fields.Dict())
    freed_asset_cost = fields.Float()
    objective_value = fields.Float()
    bound = fields.Float()
    gap = fields.Float()
    status = fields.String()
    solve_time_s = fields.Float()


class PlanList(Schema):
    plans = fields.List(fields.Nested(PlanOut))
    links = fields.List(fields.Dict())


class PlanListParams(PinnedPageParams):
    details = fields.Boolean(load_default=False, metadata={
        "description": "each plan's moves and hosts freed too (a plan of a large fleet "
                       "holds tens of thousands of moves; its item always has them)"})


def _listed(plan: dict[str, Any], brief: bool) -> dict[str, Any]:
    """A plan as a listing shows it: without its moves and hosts freed unless asked
    (their counts stay, in ``summary``)."""
    if not brief:
        return plan
    return {k: v for k, v in plan.items() if k not in ("moves", "hosts_freed")}


class Plans:
    """``/v1/plans``: compute a plan (recorded as events), or list them."""

    def __init__(self, api: Api):
        self.api = api
        self.docs = {
            "GET": Op("The plans computed so far, newest last (as_of: as they were then; "
                      "details: with their moves)", PlanListParams(), None, PlanList()),
            "POST": Op("Compute a consolidation plan and record it", None, PlanRequest(),
                       PlanOut(), 201, WRITE_ERRORS, idempotent_key=True),
        }

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        caller, q = authorise(req, "plan", policy.LIST, PlanListParams())
        with self.api.snapshot(q.get("as_of")) as snap:
            query = ListQuery(kinds=("plan",), project_id=caller.project_id,
                              limit=q["limit"], marker=q.get("marker"), at=snap.at)
            rows, more = list_rows(snap.conn, query)
            links = id_links(snap.conn, req, snap.position, query, rows, more)
        brief = not q["details"]
        resp.media = {"plans": [_listed(present(r), brief) for r in rows], "links": links}
        set_position(resp, snap.position)

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        authorise(req, "plan", policy.CREATE, NO_PARAMS)
        data = body(req, PlanRequest())
        who = meta(req)
        fields_ = solve_plan(self.api.services, who, planner_name=data["planner"],
                             scope=data["scope"], objective=data["objective"],
                             constraints=data["constraints"],
                             time_limit_s=data["time_limit_s"])

        def produce() -> Reply:
            row = self.api.services.ledger.register(who, "plan", fields_)
            with self.api.snapshot() as snap:
                stored = get_row(snap.conn, "plan", row["id"], None, None)
                assert stored is not None
                item = present(stored)
            return Reply(201, item, f"/v1/plans/{row['id']}", {"ETag": f'"{stored.version}"'})

        respond(self.api, req, resp, produce)


class PlanItem:
    """``/v1/plans/<id>``."""

    def __init__(self, api: Api):
        self.api = api
        self.docs = {"GET": Op("Show a plan (as_of: as it was then): moves, hosts freed, "
                               "objective, bound, gap", AsOfParams, None, PlanOut())}

    def on_get(self, req: falcon.Request, resp: falcon.Response, id: int) -> None:
        with read_item(self.api, req, resp, "plan", id, AsOfParams) as item:
            resp.media = present(item.row)


class PlanExecution:
    """``/v1/plans/<id>/execute``: start the run that carries the plan out (409 if stale)."""

    def __init__(self, api: Api):
        self.api = api
        self.docs = {"POST": Op("Execute a plan as a remediation run", None, NoBody(),
                                RunOut(), 202, WRITE_ERRORS, idempotent_key=True)}

    def on_post(self, req: falcon.Request, resp: falcon.Response, id: int) -> None:
        authorise(req, "plan", policy.WRITE, NO_PARAMS)
        body(req, NoBody())
        if id > MAX_ID:
            raise Problem(404, f"no plan with id {id}")

        def produce() -> Reply:
            run = execute_plan(self.api.services, meta(req), id)
            return Reply(202, run, f"/v1/workflow-runs/{run['id']}")

        respond(self.api, req, resp, produce)


def plan_routes(api: Api) -> list[tuple[str, Any]]:
    """The routes of plans, for ``create_app`` to add."""
    return [("/v1/plans", Plans(api)), ("/v1/plans/{id:int}", PlanItem(api)),
            ("/v1/plans/{id:int}/execute", PlanExecution(api))]
