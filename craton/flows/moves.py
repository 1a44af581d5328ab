"""Moving instances in batches: re-check, live-migrate with retries, hand over."""

from __future__ import annotations

from typing import Any

from taskflow.patterns import linear_flow

from craton.batches import pieces
from craton.drivers.errors import DriverError
from craton.flows.runtime import Step
from craton.flows.tasks import AttemptCounter, FleetTask, step_task


def current(step: Step, resource_id: int) -> dict[str, Any] | None:
    """The resource's current row as the ledger sees it now (None if gone)."""
    from craton.projections.lookup import CurrentLookup

    return CurrentLookup(step.conn).current(resource_id)


def host_name(step: Step, host_id: int) -> str:
    row = current(step, host_id)
    return str(row["name"]) if row else f"host-{host_id}"


class CheckBatch(FleetTask):
    """Before a batch: skip instances that are gone or no longer on their source host."""

    def act(self, step: Step, moves: list[dict[str, Any]]) -> dict[str, Any]:
        skipped = []
        for move in moves:
            row = current(step, move["instance_id"])
            reason = None
            if row is None or row["kind"] != "instance":
                reason = "the instance no longer exists"
            elif row["fields"].get("host_id") not in (move["from_host_id"],
                                                      move.get("to_host_id")):
                reason = (f"the instance is now on host {row['fields'].get('host_id')}, "
                          f"not {move['from_host_id']}")
            if reason is not None:
                step.skip(move["instance_id"], reason)
                skipped.append(move["instance_id"])
        return {"checked": len(moves), "skipped": skipped}


class MigrateInstance(FleetTask):
    """Live-migrate one instance; on its last attempt, hand it over instead of failing."""

    def act(self, step: Step, move: dict[str, Any], attempt: int, attempts: int,
            check_step: str, target_step: str | None = None) -> dict[str, Any]:
        run = step.run()
        instance_id = move["instance_id"]
        if instance_id in (run.step_result(check_step) or {}).get("skipped", []):
            return {"instance_id": instance_id, "outcome": "skipped"}
        to_host_id: int = move.get("to_host_id") or 0
        if target_step is not None:
            to_host_id = (run.step_result(target_step) or {})["host_id"]
        row = current(step, instance_id)
        if row is None:
            step.skip(instance_id, "the instance no longer exists")
            return {"instance_id": instance_id, "outcome": "skipped"}
        here = row["fields"].get("host_id")
        if here == to_host_id:
            return {"instance_id": instance_id, "outcome": "moved", "to_host_id": to_host_id}
        if here != move["from_host_id"]:
            step.skip(instance_id, f"the instance is now on host {here}")
            return {"instance_id": instance_id, "outcome": "skipped"}
        source, target = host_name(step, move["from_host_id"]), host_name(step, to_host_id)
        try:
            result = step.driver.live_migrate(str(row["name"]), source, target)
        except DriverError as exc:
            if exc.retryable and attempt < attempts:
                raise
            step.hand_over(instance_id, f"after {attempt} attempt(s): {exc}")
            return {"instance_id": instance_id, "outcome": "handed-over", "error": str(exc)}
        step.ledger.place_instance(step.meta, instance_id, to_host_id)
        return {"instance_id": instance_id, "outcome": "moved", "from_host_id": here,
                "to_host_id": to_host_id, "seconds": result.seconds}


def migration(run_id: str, prefix: str, move: dict[str, Any], attempts: int,
              check_step: str, target_step: str | None = None) -> linear_flow.Flow:
    """One instance's move, in a subflow of its own that retries it."""
    name = f"{prefix}.migrate-{move['instance_id']}"
    counter = AttemptCounter(f"{name}.attempts", attempts, provides=f"{name}.attempt")
    flow = linear_flow.Flow(name, retry=counter)
    flow.add(step_task(MigrateInstance, name, run_id, rebind={"attempt": f"{name}.attempt"},
                       move=move, attempts=attempts, check_step=check_step,
                       target_step=target_step))
    return flow


def chunks(items: list[Any], size: int) -> list[list[Any]]:
    return list(pieces(items, size))
