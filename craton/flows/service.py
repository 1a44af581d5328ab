"""Runs as the API and the CLI see them: request, show, list, cancel. Nothing runs here."""

from __future__ import annotations

import time
import uuid
from dataclasses import replace
from typing import Any

from sqlalchemy import Connection, insert, select, update

from craton.bootstrap import Services
from craton.domain.errors import NotFound
from craton.domain.ids import MAX_ID
from craton.domain.meta import Meta
from craton.domain.runs import Run
from craton.flows import catalog
from craton.flows.storage import QUEUE, ensure_schema
from craton.projections.audit import EventQuery, events, present_event
from craton.projections.listing import ListQuery, get_row, list_rows, present
from craton.projections.timeline import iso

STEP_EVENTS = ("WorkflowRun.StepChanged", "WorkflowRun.HandedOver",
               "WorkflowRun.InstanceSkipped")


def list_workflows() -> list[dict[str, Any]]:
    """The installed workflows, each with its description and parameter schema."""
    return [w.describe() for _, w in sorted(catalog.workflows().items())]


def request_run(services: Services, meta: Meta, workflow: str,
                parameters: dict[str, Any] | None) -> dict[str, Any]:
    """Record a run for a worker to execute; returns its row (state ``requested``)."""
    flow = catalog.workflow(workflow)
    values = flow.validate(parameters if parameters is not None else {})
    ensure_schema(services.db)
    run_uuid = str(uuid.uuid4())
    meta = replace(meta.for_run(run_uuid), source=meta.source)
    with services.db.writing() as session:
        targets = flow.targets(session.connection(), meta, values)
        fields: dict[str, Any] = {"workflow": workflow, "parameters": values,
                                  "state": "requested", "targets": [targets]}
        if "plan_id" in values:
            fields["plan_id"] = values["plan_id"]
        row = services.ledger.register(meta, Run.KIND, fields)
        if "plan_id" in values:  # the plan is this run's from its request on
            from craton.planning.service import mark_executing

            mark_executing(services, meta, values["plan_id"], run_uuid)
        session.connection().execute(insert(QUEUE).values(
            run_uuid=run_uuid, requested_at=time.time(), state="requested"))
    return present_run(row)


def present_run(row: Any) -> dict[str, Any]:
    """A run row as the API shows it (targets unwrapped)."""
    if isinstance(row, dict):
        out = {"id": row["id"], "uuid": row["uuid"], **row["fields"],
               "project_id": row["project_id"],
               "created_at": iso(row["created_at"]), "updated_at": iso(row["updated_at"])}
    else:
        out = present(row)
    targets = out.get("targets") or [{}]
    out["targets"] = targets[0] if isinstance(targets, list) and targets else targets
    for key in ("handovers", "failed_steps", "skipped"):
        out[key] = out.get(key) or []
    return out


def _row(services: Services, run_id: int, project_id: str | None) -> Any:
    """The run's current row; NotFound if none."""
    with services.db.reading() as conn:
        return _located(conn, run_id, project_id)


def _located(conn: Connection, run_id: int, project_id: str | None) -> Any:
    row = get_row(conn, Run.KIND, run_id, project_id, None) if 0 <= run_id <= MAX_ID \
        else None
    if row is None:
        raise NotFound(f"no workflow-run with id {run_id}")
    return row


def get_run(services: Services, run_id: int, project_id: str | None) -> dict[str, Any]:
    """The run now, with every step: its transitions, attempts, timings, results and
    errors, read in one snapshot (an item of the API reads its row itself, with its
    ETag and position, and calls ``show_run``)."""
    with services.db.reading() as conn:
        return show_run(conn, _located(conn, run_id, project_id))


def show_run(conn: Connection, row: Any, at: int | None = None) -> dict[str, Any]:
    """``get_run`` of a run's row already read (in ``conn``'s snapshot, as of ``at``)."""
    out = present_run(row)
    trail = _events_of(conn, row.uuid, at)
    steps: dict[str, dict[str, Any]] = {}
    handovers, skipped = [], []
    for event in trail:
        detail = (event["changes"] or {}).get("detail") or {}
        if event["event_type"] == "WorkflowRun.StepChanged":
            step = steps.setdefault(detail["step"], {
                "name": detail["step"], "state": None, "attempts": 0, "started_at": None,
                "finished_at": None, "result": None, "errors": [], "transitions": []})
            step["transitions"].append({"state": detail["state"], "attempt": detail["attempt"],
                                        "time": event["time"], "position": event["position"],
                                        "error": detail.get("error")})
            step["state"], step["attempts"] = detail["state"], max(step["attempts"],
                                                                   detail["attempt"])
            step["started_at"] = step["started_at"] or event["time"]
            if detail["state"] in ("SUCCESS", "FAILURE", "REVERTED", "REVERT_FAILURE"):
                step["finished_at"] = event["time"]
            if detail.get("error"):
                step["errors"].append(detail["error"])
            if detail["state"] == "SUCCESS":
                step["result"] = detail.get("result")
        elif event["event_type"] == "WorkflowRun.HandedOver":
            handovers.append({k: detail.get(k) for k in ("step", "instance_id", "reason")})
        elif event["event_type"] == "WorkflowRun.InstanceSkipped":
            skipped.append({k: detail.get(k) for k in ("step", "instance_id", "reason")})
    out["steps"] = list(steps.values())
    if out["state"] in ("requested", "running"):
        out["handovers"], out["skipped"] = handovers, skipped
    out["events"] = len(trail)
    return out


def run_events(services: Services, run_uuid: str) -> list[dict[str, Any]]:
    """Every event the run caused, its own and the inventory's, oldest first."""
    with services.db.reading() as conn:
        return _events_of(conn, run_uuid)


def _events_of(conn: Connection, run_uuid: str, until: int | None = None
               ) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    after = None
    while True:
        rows, more = events(conn, EventQuery(run_id=run_uuid, after=after, until=until,
                                             limit=1000))
        out.extend(present_event(r) for r in rows)
        if not more:
            return out
        after = rows[-1].position


def list_runs(services: Services, project_id: str | None, limit: int = 30,
              marker: int | None = None) -> tuple[list[dict[str, Any]], bool]:
    with services.db.reading() as conn:
        rows, more = list_rows(conn, ListQuery(kinds=(Run.KIND,), project_id=project_id,
                                               limit=limit, marker=marker))
    return [present_run(r) for r in rows], more


def cancel_run(services: Services, meta: Meta, run_id: int) -> dict[str, Any]:
    """Cancel a run: at once if no worker has it yet, else at its next step."""
    row = _row(services, run_id, meta.project_id)
    ensure_schema(services.db)
    with services.db.writing() as session:
        run: Any = services.ledger.repository.get(uuid.UUID(row.uuid))
        assert isinstance(run, Run)
        run_meta = meta.for_run(row.uuid).as_dict()
        conn = session.connection()
        queued = conn.execute(select(QUEUE.c.state).where(
            QUEUE.c.run_uuid == row.uuid)).scalar()
        run.request_cancel(run_meta)
        if run.state == "requested" and queued in ("requested", None):
            run.finish(run_meta, {"state": "cancelled", "finished_at": iso(_now())})
            conn.execute(update(QUEUE).where(QUEUE.c.run_uuid == row.uuid).values(
                state="done"))
        services.ledger.save(run)
        if run.ended:  # no worker will take it: its end is settled here
            catalog.settle_run(services.ledger, conn, meta.for_run(row.uuid), run)
    return present_run(_row(services, run_id, meta.project_id))


def _now() -> Any:
    from craton.domain import clock

    return clock.now()
