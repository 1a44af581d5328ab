"""Reports and the ledger's proofs over HTTP: ``/v1/reports`` and ``/v1/ledger/*``."""

from __future__ import annotations

from typing import Any

import falcon
from marshmallow import Schema, fields, validate

from craton.proofs import current_digest, verify_ledger
from craton.reports.base import Report
from craton.reports.registry import get_report, load_reports, required_permission
from craton.reports.render import FORMATS, render
from craton.reports.window import resolve_window

from . import policy
from .auth import Principal
from .context import Api, authorise, principal, set_position
from .docs import Op
from .errors import Problem
from .fields import Moment

AUDITORS = {"root", "auditor"}


class ReportParams(Schema):
    from_ = Moment(data_key="from", metadata={"description": "RFC 3339 time or @<position>"})
    to = Moment(metadata={"description": "RFC 3339 time or @<position> (inclusive)"})
    format = fields.String(load_default="json", validate=validate.OneOf(tuple(FORMATS)))


class ReportItem(Schema):
    name = fields.String()
    title = fields.String()
    description = fields.String()
    href = fields.String()


class ReportsOut(Schema):
    reports = fields.List(fields.Nested(ReportItem))


class ReportOut(Schema):
    report = fields.String()
    title = fields.String()
    description = fields.String()
    window = fields.Dict()
    project_id = fields.String(allow_none=True)
    summary = fields.Dict()
    notes = fields.List(fields.String())
    tables = fields.List(fields.Dict())
    charts = fields.List(fields.Dict())


class DigestOut(Schema):
    position = fields.Integer()
    hash = fields.String()
    time = fields.String()
    signature = fields.String(allow_none=True)
    key_id = fields.String(allow_none=True)


class VerifyOut(Schema):
    ok = fields.Boolean()
    checked = fields.Integer()
    head = fields.Dict(allow_none=True)
    problem = fields.String(allow_none=True)
    position = fields.Integer(allow_none=True)
    message = fields.String()


def _may_read(caller: Principal, report: Report) -> bool:
    return policy.allowed(caller, *required_permission(report))


def _auditor(req: falcon.Request) -> None:
    caller = principal(req)
    if caller.role not in AUDITORS:
        raise Problem(403, f"role {caller.role!r} may not read the ledger's proofs")


class Reports:
    """``/v1/reports``: the installed reports."""

    def __init__(self, api: Api):
        self.api = api
        self.docs = {"GET": Op("The installed reports", None, None, ReportsOut())}

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        caller = principal(req)
        policy.require(caller, "audit", policy.READ)
        reports = load_reports(self.api.services.settings)
        resp.media = {"reports": [
            {"name": n, "title": r.title, "description": r.description,
             "href": f"/v1/reports/{n}"} for n, r in reports.items() if _may_read(caller, r)]}


class ReportResource:
    """``/v1/reports/<name>``: one report over a window, for the caller's project or all."""

    def __init__(self, api: Api):
        self.api = api
        self.docs = {"GET": Op("A report over a window (json, csv or html)", ReportParams(),
                               None, ReportOut())}

    def on_get(self, req: falcon.Request, resp: falcon.Response, name: str) -> None:
        caller, q = authorise(req, "audit", policy.READ, ReportParams())
        report = get_report(name, self.api.services.settings)
        policy.require(caller, *required_permission(report))
        if getattr(report, "reads_credential_uses", False):  # (a plugin may not say)
            self.api.credential_uses.flush()  # (this worker's, at least, are then counted)
        with self.api.services.db.reading() as conn:
            window = resolve_window(conn, q.get("from_"), q.get("to"))
            # A role that may not read users does not read them in a report either,
            # as /v1/events and /v1/diff leave them out.
            data = report.compute(conn, window, caller.project_id,
                                  hidden_kinds=policy.unreadable_kinds(caller))
        fmt = q["format"]
        resp.content_type = FORMATS[fmt][1]
        if fmt == "json":
            resp.media = data.to_dict()
        else:
            resp.text = render(data, fmt)
        if fmt == "csv":
            resp.set_header("Content-Disposition", f'attachment; filename="{name}.csv"')
        set_position(resp, window.until)


class LedgerDigest:
    """``/v1/ledger/digest``: the chain head, signed when a key is configured."""

    def __init__(self, api: Api):
        self.api = api
        self.docs = {"GET": Op("The chain head (position, hash, time, signature)", None,
                               None, DigestOut())}

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        _auditor(req)
        resp.media = current_digest(self.api.services).to_dict()


class LedgerVerify:
    """``/v1/ledger/verify``: recompute the chain and report the first tampered position."""

    def __init__(self, api: Api):
        self.api = api
        self.docs = {"GET": Op("Verify the hash chain over the whole log", None, None,
                               VerifyOut())}

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        _auditor(req)
        report = verify_ledger(self.api.services)
        head: dict[str, Any] | None = None
        if report.head is not None:
            head = {"position": report.head.position, "hash": report.head.hash}
        resp.media = {"ok": report.ok, "checked": report.checked, "head": head,
                      "problem": report.problem, "position": report.position,
                      "message": report.message}


def compliance_routes(api: Api) -> list[tuple[str, Any]]:
    """The routes of reports and ledger proofs, for ``create_app`` to add."""
    return [("/v1/reports", Reports(api)), ("/v1/reports/{name}", ReportResource(api)),
            ("/v1/ledger/digest", LedgerDigest(api)), ("/v1/ledger/verify", LedgerVerify(api))]
