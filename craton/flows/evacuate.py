"""Evacuate hosts: batch by batch, quiesce, build a fresh host, move, drain."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select
from taskflow.patterns import linear_flow

from craton.domain.errors import InvalidInput
from craton.domain.meta import Meta
from craton.drivers.errors import DriverError
from craton.drivers.simulator_world import DEFAULT_HOST_FACTS
from craton.flows.catalog import (
    HandOver,
    Workflow,
    batch_parameters,
    id_parameter,
    parameters_schema,
    target_host_ids,
)
from craton.flows.inventory import facts_to_record, host_summary, hosts_by_id, instances_on
from craton.flows.moves import CheckBatch, chunks, current, group_placements, migration
from craton.flows.runtime import Step
from craton.flows.tasks import BatchGuard, FleetTask, step_task
from craton.projections.lookup import CurrentLookup
from craton.projections.tables import LIVE

SCHEMA = parameters_schema({
    "hosts": {"type": "array", "items": id_parameter("a host's id"), "minItems": 1,
              "description": "ids of the hosts to empty"},
    **batch_parameters("source hosts per batch"),
}, required=["hosts"])


class QuiesceHosts(FleetTask):
    """Stop scheduling on the batch's source hosts, in the fleet and in the ledger."""

    def act(self, step: Step, hosts: list[dict[str, Any]]) -> dict[str, Any]:
        for host in hosts:
            step.driver.disable_scheduling(host["name"])
            step.ledger.update(step.meta, "host", host["id"], {"schedulable": False})
        return {"quiesced": [h["id"] for h in hosts]}

    def undo(self, step: Step, hosts: list[dict[str, Any]]) -> None:
        """Let the hosts take instances again; one that refuses is handed to a person.

        A failed revert would otherwise leave the host quiesced with nobody told,
        and stop the batches after it: the hand-over says what is left to do.
        """
        for host in hosts:
            error = _enable_scheduling(step, host["name"])
            if error is not None:
                step.hand_over(host["id"], (
                    f"host {host['name']} stays quiesced: re-enabling scheduling failed "
                    f"during the revert ({error}); enable it by hand"))
            elif current(step, host["id"]) is not None:
                step.ledger.update(step.meta, "host", host["id"], {"schedulable": True})


ENABLE_ATTEMPTS = 3


def _enable_scheduling(step: Step, host: str) -> DriverError | None:
    """Re-enable scheduling, retrying what the driver says may pass; the last error."""
    error: DriverError | None = None
    for _ in range(ENABLE_ATTEMPTS):
        try:
            step.driver.enable_scheduling(host)
            return None
        except DriverError as exc:
            error = exc
            if not exc.retryable:
                break
    return error


class BuildHost(FleetTask):
    """Provision a fresh compute host and register it beside the source hosts."""

    def act(self, step: Step, new_host: dict[str, Any]) -> dict[str, Any]:
        facts = step.driver.build_host(new_host["name"], new_host["template"])
        row = step.ledger.register(step.meta, "host", {
            "name": new_host["name"], "region_id": new_host["region_id"],
            "cell_id": new_host["cell_id"], "device_type": "server",
            "schedulable": False, "status": "building"})
        step.ledger.record_facts(step.meta, "host", row["id"], facts_to_record(facts.as_facts()))
        return {"host_id": row["id"], "name": new_host["name"]}

    def undo(self, step: Step, new_host: dict[str, Any]) -> None:
        t = LIVE.resources
        host_id = step.conn.execute(select(t.c.id).where(
            t.c.kind == "host", t.c.name == new_host["name"],
            t.c.region_id == new_host["region_id"], t.c.valid_to.is_(None))).scalar()
        if host_id is not None and not instances_on(step.conn, [host_id]):
            step.ledger.update(step.meta, "host", host_id, {
                "status": "rejected", "schedulable": False, "active": False})


class VerifyHost(FleetTask):
    """Run the fresh host's acceptance checks, then let it take instances."""

    def act(self, step: Step, build_step: str) -> dict[str, Any]:
        built = step.run().step_result(build_step)
        step.driver.verify_host(built["name"])
        step.driver.enable_scheduling(built["name"])
        step.ledger.update(step.meta, "host", built["host_id"],
                           {"schedulable": True, "status": "in-service"})
        return {"verified": built["host_id"]}


class DrainHosts(FleetTask):
    """Mark source hosts drained; a host that still holds instances stays quiesced, and
    each of them not handed over already is handed over now."""

    def act(self, step: Step, hosts: list[dict[str, Any]]) -> dict[str, Any]:
        drained, held = [], {}
        told = step.run().handed_over()
        for host in hosts:
            left = instances_on(step.conn, [host["id"]])
            if left:
                held[host["id"]] = [i.id for i in left]
                for instance in (i for i in left if i.id not in told):
                    step.hand_over(instance.id, (
                        f"instance {instance.name} is still on host {host['name']}, which "
                        "stays quiesced: the run had no move for it (it was placed there "
                        "after the run was requested); move it, then drain the host"))
                continue
            step.driver.mark_host(host["name"], "drained")
            step.ledger.update(step.meta, "host", host["id"], {"status": "drained"})
            drained.append(host["id"])
        return {"drained": drained, "still_holding": held}


def left_behind(conn: Connection, run: Any, targets: dict[str, Any]) -> list[HandOver]:
    """What a cancel leaves of the batch it stopped: its source hosts still quiesced,
    and the fresh host if it was built but not verified (still ``building``)."""
    lookup = CurrentLookup(conn)
    told = run.handed_over()
    out: list[HandOver] = []
    for batch in targets["batches"]:
        prefix = f"batch-{batch['number']}"
        if not run.is_done(f"{prefix}.quiesce") or run.is_done(f"{prefix}.drain"):
            continue
        for host in batch["hosts"]:
            row = lookup.current(host["id"])
            if host["id"] not in told and row is not None \
                    and row["fields"].get("schedulable") is False:
                out.append((f"{prefix}.quiesce", host["id"], (
                    f"host {host['name']} stays quiesced: the run was cancelled during "
                    f"batch {batch['number']}, before the host was drained; move what it "
                    "still holds, or re-enable scheduling, by hand")))
        built = run.step_result(f"{prefix}.build")
        if built is not None and not run.is_done(f"{prefix}.verify"):
            out.append((f"{prefix}.build", built["host_id"], (
                f"host {built['name']} was built but not verified (status building): the "
                "run was cancelled; verify it and put it in service, or retire it")))
    return out


def targets(conn: Connection, meta: Meta, parameters: dict[str, Any]) -> dict[str, Any]:
    """Batches of source hosts (per cell), their instances, and each batch's new host."""
    hosts = hosts_by_id(conn, meta.project_id, parameters["hosts"])
    by_cell: dict[Any, list[Any]] = {}
    for host in hosts:
        by_cell.setdefault((host.region_id, host.cell_id), []).append(host)
    tag = (meta.run_id or "run")[:8]
    batches: list[dict[str, Any]] = []
    for (region_id, cell_id), members in by_cell.items():
        for chunk in chunks(members, parameters["batch_size"]):
            guests = instances_on(conn, [h.id for h in chunk])
            moves = group_placements(conn, guests)
            staying = {m["instance_id"] for m in moves if "hand_over" in m}
            moving = [g for g in guests if g.id not in staying]
            number = len(batches) + 1
            batch: dict[str, Any] = {"number": number,
                                     "hosts": [host_summary(h) for h in chunk],
                                     "moves": moves}
            if moving:  # (a batch with nothing to move needs no new host)
                batch["new_host"] = {"name": f"{chunk[0].name}-evac-{tag}-{number}",
                                     "region_id": region_id, "cell_id": cell_id,
                                     "template": _template(moving, cell_id)}
            batches.append(batch)
    if not batches:
        raise InvalidInput("no hosts to evacuate", {"hosts": ["no hosts selected"]})
    return {"hosts": [host_summary(h) for h in hosts], "batches": batches,
            "attempts": parameters["max_retries"] + 1}


def _template(guests: list[Any], cell_id: int | None) -> dict[str, Any]:
    """A fresh host large enough for the batch, never smaller than the standard one."""
    need = {k: sum(int(g.data.get(k) or 0) for g in guests)
            for k in ("vcpus", "memory_mb", "disk_gb")}
    return {"cell_id": cell_id,
            "vcpus": max(DEFAULT_HOST_FACTS["vcpus"], need["vcpus"]),
            "memory_total_mb": max(DEFAULT_HOST_FACTS["memory_total_mb"],
                                   need["memory_mb"] + DEFAULT_HOST_FACTS["memory_reserved_mb"]),
            "disk_gb": max(DEFAULT_HOST_FACTS["disk_gb"], need["disk_gb"])}


def build_flow(run_id: str, targets: dict[str, Any]) -> linear_flow.Flow:
    """The evacuation of the run's batches, one subflow (reverted on its own) per batch."""
    root = linear_flow.Flow(f"evacuate-{run_id}")
    for batch in targets["batches"]:
        prefix = f"batch-{batch['number']}"
        flow = linear_flow.Flow(prefix, retry=BatchGuard(f"{prefix}.guard"))
        check = f"{prefix}.check"
        build = f"{prefix}.build" if batch.get("new_host") else None
        flow.add(step_task(CheckBatch, check, run_id, moves=batch["moves"]))
        flow.add(step_task(QuiesceHosts, f"{prefix}.quiesce", run_id, hosts=batch["hosts"]))
        if build is not None:
            flow.add(step_task(BuildHost, build, run_id, new_host=batch["new_host"]))
            flow.add(step_task(VerifyHost, f"{prefix}.verify", run_id, build_step=build))
        for move in batch["moves"]:
            flow.add(migration(run_id, prefix, move, targets["attempts"], check, build))
        flow.add(step_task(DrainHosts, f"{prefix}.drain", run_id, hosts=batch["hosts"]))
        root.add(flow)
    return root


WORKFLOW = Workflow(
    name="evacuate",
    description=("Empty hosts batch by batch: quiesce them, build and verify a fresh host, "
                 "live-migrate their instances to it (retrying, then handing over), and "
                 "mark them drained."),
    schema=SCHEMA, targets=targets, factory=build_flow,
    world=target_host_ids, left_behind=left_behind,
)
