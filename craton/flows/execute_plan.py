"""Carry out a plan's moves in batches, with the same retries and hand-overs."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection
from taskflow.patterns import linear_flow

from craton.application import Ledger
from craton.domain.errors import Conflict, InvalidInput
from craton.domain.meta import Meta
from craton.domain.plans import COMPUTED, EXECUTING, FAILED
from craton.domain.runs import Run
from craton.flows.catalog import Workflow, batch_parameters, id_parameter, parameters_schema
from craton.flows.moves import CheckBatch, chunks, migration
from craton.flows.runtime import Step
from craton.flows.tasks import BatchGuard, FleetTask, step_task
from craton.planning.execution import check_executable, plan_hosts, refuse_stale, settle_plan
from craton.planning.service import mark_executing
from craton.projections.listing import get_row

SCHEMA = parameters_schema({
    "plan_id": id_parameter("id of the plan to carry out"),
    **batch_parameters("moves per batch"),
}, required=["plan_id"])
START = "plan.start"


class StartPlan(FleetTask):
    """Mark the plan executing by this run, unless it has gone stale while the run
    waited for a worker (the run's end records how the plan ended: see ``settle``)."""

    def act(self, step: Step, plan_id: int) -> dict[str, Any]:
        row = get_row(step.conn, "plan", plan_id, None, None)
        plan = dict(row.data) if row is not None else {}
        state = plan.get("state") or COMPUTED
        mine = state == EXECUTING and plan.get("run_id") == step.run_uuid
        if not mine and state != COMPUTED:
            raise Conflict(f"plan {plan_id} is already {state}")
        refuse_stale(step.conn, plan_id, plan)
        if not mine:  # (a run requested before requests marked their plan)
            mark_executing(step.runtime.services, step.meta, plan_id, step.run_uuid)
        return {"plan_id": plan_id, "state": EXECUTING}


def started(run: Run) -> bool:
    """Whether the run got past its first step, which a stale or taken plan fails."""
    failed = {f["step"] for f in run.summary()["failed_steps"]}
    return run.step_state(START)[0] is not None and START not in failed


def settle(ledger: Ledger, conn: Connection, meta: Meta, run: Run) -> None:
    """Record how the plan ended as its run ends, if the run was still carrying it out:
    failed if the run never got past its first step (refused, or cancelled or failed
    before it), wherever the plan's instances are; else read from where they are
    (executed, partially executed or failed)."""
    settle_plan(ledger, conn, meta, int(run.fields["parameters"]["plan_id"]), str(run.id),
                None if started(run) else FAILED)


def targets(conn: Connection, meta: Meta, parameters: dict[str, Any]) -> dict[str, Any]:
    """The plan's moves, in batches; a plan stale or already started is refused (409)."""
    plan = get_row(conn, "plan", parameters["plan_id"], meta.project_id, None)
    if plan is None:
        raise InvalidInput(f"no plan with id {parameters['plan_id']}",
                           {"plan_id": ["unknown plan"]})
    check_executable(conn, plan.id, dict(plan.data))
    moves = [{"instance_id": int(m["instance_id"]), "from_host_id": int(m["from_host_id"]),
              "to_host_id": int(m["to_host_id"])} for m in plan.data.get("moves") or []]
    batches = [{"number": n + 1, "moves": chunk}
               for n, chunk in enumerate(chunks(moves, parameters["batch_size"]))]
    return {"plan_id": plan.id, "host_ids": plan_hosts(dict(plan.data)), "batches": batches,
            "attempts": parameters["max_retries"] + 1}


def build_flow(run_id: str, targets: dict[str, Any]) -> linear_flow.Flow:
    """Mark the plan started; one subflow per batch (re-check it, then move each
    instance). How the plan ended is recorded as the run ends (``settle``)."""
    root = linear_flow.Flow(f"execute-plan-{run_id}")
    root.add(step_task(StartPlan, START, run_id, plan_id=targets["plan_id"]))
    for batch in targets["batches"]:
        prefix = f"batch-{batch['number']}"
        flow = linear_flow.Flow(prefix, retry=BatchGuard(f"{prefix}.guard"))
        check = f"{prefix}.check"
        flow.add(step_task(CheckBatch, check, run_id, moves=batch["moves"]))
        for move in batch["moves"]:
            flow.add(migration(run_id, prefix, move, targets["attempts"], check))
        root.add(flow)
    return root


WORKFLOW = Workflow(
    name="execute-plan",
    description="Carry out a plan's moves in batches, retrying failed migrations and "
                "handing over the ones that keep failing.",
    schema=SCHEMA, targets=targets, factory=build_flow,
    world=lambda t: list(t["host_ids"]), settle=settle,
)
