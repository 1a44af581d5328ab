"""Carry out a plan's moves in batches, with the same retries and hand-overs."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection
from taskflow.patterns import linear_flow

from craton.domain.errors import InvalidInput
from craton.domain.meta import Meta
from craton.flows.catalog import Workflow, batch_parameters, id_parameter, parameters_schema
from craton.flows.moves import CheckBatch, chunks, migration
from craton.flows.tasks import BatchGuard, step_task
from craton.projections.listing import get_row

SCHEMA = parameters_schema({
    "plan_id": id_parameter("id of the plan to carry out"),
    **batch_parameters("moves per batch"),
}, required=["plan_id"])


def targets(conn: Connection, meta: Meta, parameters: dict[str, Any]) -> dict[str, Any]:
    """The plan's moves, in batches."""
    plan = get_row(conn, "plan", parameters["plan_id"], meta.project_id, None)
    if plan is None:
        raise InvalidInput(f"no plan with id {parameters['plan_id']}",
                           {"plan_id": ["unknown plan"]})
    moves = [{"instance_id": int(m["instance_id"]), "from_host_id": int(m["from_host_id"]),
              "to_host_id": int(m["to_host_id"])} for m in plan.data.get("moves") or []]
    hosts = sorted({m["from_host_id"] for m in moves} | {m["to_host_id"] for m in moves})
    batches = [{"number": n + 1, "moves": chunk}
               for n, chunk in enumerate(chunks(moves, parameters["batch_size"]))]
    return {"plan_id": plan.id, "host_ids": hosts, "batches": batches,
            "attempts": parameters["max_retries"] + 1}


def build_flow(run_id: str, targets: dict[str, Any]) -> linear_flow.Flow:
    """One subflow per batch: re-check it, then move each instance."""
    root = linear_flow.Flow(f"execute-plan-{run_id}")
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
    world=lambda t: list(t["host_ids"]),
)
