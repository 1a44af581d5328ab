"""Workflows over HTTP: the installed flows and their runs. A request never runs a flow."""

from __future__ import annotations

from typing import Any

import falcon
from marshmallow import Schema, fields

from craton.domain.runs import Run
from craton.flows import service
from craton.projections.listing import ListQuery, list_rows

from . import policy
from .context import Api, authorise, body, meta, read_item, set_position
from .docs import WRITE_ERRORS, Op
from .idempotency import Reply, respond
from .paging import id_links
from .params import AsOfParams, PinnedPageParams

RUN = "workflow-run"
NO_PARAMS = Schema.from_dict({}, name="NoParams")()


class NoBody(Schema):
    """A request that takes no body: any property given is refused."""


class WorkflowOut(Schema):
    name = fields.String()
    description = fields.String()
    parameters = fields.Dict(metadata={"description": "JSON schema of the parameters"})


class WorkflowsOut(Schema):
    workflows = fields.List(fields.Nested(WorkflowOut))


class RunIn(Schema):
    workflow = fields.String(required=True)
    parameters = fields.Dict(load_default=dict)


class StepOut(Schema):
    name = fields.String()
    state = fields.String()
    attempts = fields.Integer()
    started_at = fields.String(allow_none=True)
    finished_at = fields.String(allow_none=True)
    result = fields.Raw(allow_none=True)
    errors = fields.List(fields.String())
    transitions = fields.List(fields.Dict())


class RunOut(Schema):
    id = fields.Integer()
    uuid = fields.String()
    workflow = fields.String()
    parameters = fields.Dict()
    state = fields.String(metadata={
        "enum": ["requested", "running", "succeeded", "failed", "cancelled"]})
    targets = fields.Dict()
    handovers = fields.List(fields.Dict())
    failed_steps = fields.List(fields.Dict())
    skipped = fields.List(fields.Dict())
    worker = fields.String(allow_none=True)
    started_at = fields.String(allow_none=True)
    finished_at = fields.String(allow_none=True)
    cancel_requested = fields.Boolean(allow_none=True)
    error = fields.String(allow_none=True)
    plan_id = fields.Integer(allow_none=True)
    project_id = fields.String()
    created_at = fields.String()
    updated_at = fields.String()
    steps = fields.List(fields.Nested(StepOut))


class RunsOut(Schema):
    workflow_runs = fields.List(fields.Nested(RunOut), data_key="workflow-runs")
    links = fields.List(fields.Dict())


def _location(req: falcon.Request, run: dict[str, Any]) -> str:
    return f"{req.prefix}/v1/workflow-runs/{run['id']}"


class Workflows:
    """``/v1/workflows``: the installed flows, each with its parameter schema."""

    def __init__(self, api: Api):
        self.api = api
        self.docs = {"GET": Op("The installed workflows", None, None, WorkflowsOut())}

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        authorise(req, RUN, policy.LIST, NO_PARAMS)
        resp.media = {"workflows": service.list_workflows()}


class Runs:
    """``/v1/workflow-runs``: list runs, or request one (202; a worker executes it)."""

    def __init__(self, api: Api):
        self.api = api
        self.docs = {
            "GET": Op("Workflow runs, oldest first (as_of: as they were then)",
                      PinnedPageParams(), None, RunsOut()),
            "POST": Op("Request a workflow run", None, RunIn(), RunOut(), status=202,
                       errors=WRITE_ERRORS, idempotent_key=True),
        }

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        caller, q = authorise(req, RUN, policy.LIST, PinnedPageParams())
        with self.api.snapshot(q.get("as_of")) as snap:
            query = ListQuery(kinds=(Run.KIND,), project_id=caller.project_id,
                              limit=q["limit"], marker=q.get("marker"), at=snap.at)
            rows, more = list_rows(snap.conn, query)
            links = id_links(snap.conn, req, snap.position, query, rows, more)
        resp.media = {"workflow-runs": [service.present_run(r) for r in rows], "links": links}
        set_position(resp, snap.position)

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        authorise(req, RUN, policy.CREATE, NO_PARAMS)
        data = body(req, RunIn())
        who = meta(req)

        def produce() -> Reply:
            run = service.request_run(self.api.services, who, data["workflow"],
                                      data["parameters"])
            return Reply(202, run, _location(req, run))

        # A retry with the same key answers with the first run, and requests no other.
        respond(self.api, req, resp, produce)


class RunItem:
    """``/v1/workflow-runs/<id>``: the run with every step and its transitions."""

    def __init__(self, api: Api):
        self.api = api
        self.docs = {"GET": Op("A workflow run, step by step (as_of: as far as it had got "
                               "then)", AsOfParams, None, RunOut())}

    def on_get(self, req: falcon.Request, resp: falcon.Response, id: int) -> None:
        with read_item(self.api, req, resp, RUN, id) as item:  # body, ETag, position: one read
            resp.media = service.show_run(item.conn, item.row, item.at)


class RunCancel:
    """``/v1/workflow-runs/<id>/cancel``: stop a run (at once if no worker has it yet)."""

    def __init__(self, api: Api):
        self.api = api
        self.docs = {"POST": Op("Cancel a workflow run", None, NoBody(), RunOut(),
                                status=202, errors=WRITE_ERRORS)}

    def on_post(self, req: falcon.Request, resp: falcon.Response, id: int) -> None:
        authorise(req, RUN, policy.WRITE, NO_PARAMS)
        body(req, NoBody())
        resp.status = falcon.HTTP_202
        resp.media = service.cancel_run(self.api.services, meta(req), id)


def workflow_routes(api: Api) -> list[tuple[str, Any]]:
    """The routes of workflows and their runs, for ``create_app`` to add."""
    return [("/v1/workflows", Workflows(api)), ("/v1/workflow-runs", Runs(api)),
            ("/v1/workflow-runs/{id:int}", RunItem(api)),
            ("/v1/workflow-runs/{id:int}/cancel", RunCancel(api))]
