"""Workflow runs and audit findings: aggregates whose events are the steps of a run."""

from __future__ import annotations

import uuid
from typing import Any

from eventsourcing.domain import event

from craton.domain.errors import Conflict
from craton.domain.inventory import AGGREGATES
from craton.domain.resource import Event, Resource

FINAL_STATES = ("succeeded", "failed", "cancelled")
DONE = "SUCCESS"


class RunFinished(Conflict):
    """A change to a run that has already ended."""


class Run(Resource):
    """One execution of a workflow; each step's transitions are its events."""

    KIND = "workflow-run"

    @staticmethod
    def create_id(meta: dict[str, Any]) -> uuid.UUID:
        """The run's uuid is the ``run_id`` its first event already carries."""
        run_id = meta.get("run_id")
        return uuid.UUID(run_id) if run_id else uuid.uuid4()

    # -- state transitions (they change the run's row) ------------------------
    class Started(Event):
        meta: dict[str, Any]
        changes: dict[str, Any]

    class Resumed(Event):
        meta: dict[str, Any]
        changes: dict[str, Any]

    class CancelRequested(Event):
        meta: dict[str, Any]
        changes: dict[str, Any]

    class Finished(Event):
        meta: dict[str, Any]
        changes: dict[str, Any]

    @property
    def state(self) -> str:
        return str(self.fields.get("state") or "requested")

    @property
    def ended(self) -> bool:
        return self.state in FINAL_STATES

    def start(self, meta: dict[str, Any], worker: str, at: str) -> None:
        if self.ended:
            raise RunFinished(f"run {self.id} has already ended ({self.state})")
        if self.state == "requested":
            self._started(meta, {"state": "running", "worker": worker, "started_at": at})
        else:
            self._resumed(meta, {"worker": worker})

    @event(Started)
    def _started(self, meta: dict[str, Any], changes: dict[str, Any]) -> None:
        self.fields.update(changes)

    @event(Resumed)
    def _resumed(self, meta: dict[str, Any], changes: dict[str, Any]) -> None:
        self.fields.update(changes)

    def request_cancel(self, meta: dict[str, Any]) -> None:
        if self.ended:
            raise RunFinished(f"run {self.id} has already ended ({self.state})")
        if not self.fields.get("cancel_requested"):
            self._cancel_requested(meta, {"cancel_requested": True})

    @event(CancelRequested)
    def _cancel_requested(self, meta: dict[str, Any], changes: dict[str, Any]) -> None:
        self.fields.update(changes)

    def finish(self, meta: dict[str, Any], changes: dict[str, Any]) -> None:
        if not self.ended:
            self._finished(meta, changes)

    @event(Finished)
    def _finished(self, meta: dict[str, Any], changes: dict[str, Any]) -> None:
        self.fields.update(changes)

    # -- steps (logged in the audit trail, no new row version) ----------------
    class StepChanged(Event):
        meta: dict[str, Any]
        step: str
        state: str
        attempt: int
        error: str | None
        result: Any

    class HandedOver(Event):
        meta: dict[str, Any]
        step: str
        instance_id: int
        reason: str

    class InstanceSkipped(Event):
        meta: dict[str, Any]
        step: str
        instance_id: int
        reason: str

    def step_state(self, step: str) -> tuple[str | None, int]:
        """The last recorded state of a step and its attempt number."""
        steps: dict[str, Any] = getattr(self, "steps", {})
        last = steps.get(step)
        return (last["state"], last["attempt"]) if last else (None, 0)

    def step_result(self, step: str) -> Any:
        """What a step returned when it was recorded done (None if it was not)."""
        done: dict[str, Any] = getattr(self, "done", {})
        return done.get(step)

    def is_done(self, step: str) -> bool:
        return step in getattr(self, "done", {})

    def change_step(self, meta: dict[str, Any], step: str, state: str,
                    error: str | None = None, result: Any = None) -> bool:
        """Record a transition unless it is the one already recorded; True if recorded."""
        last, attempt = self.step_state(step)
        if self.is_done(step) and state in ("RUNNING", DONE):
            return False  # a resumed run re-entering a step it already finished
        if state == "RUNNING":
            attempt += 1
        elif last == state:
            return False
        self._step_changed(meta, step, state, max(attempt, 1), error, result)
        return True

    @event(StepChanged)
    def _step_changed(self, meta: dict[str, Any], step: str, state: str, attempt: int,
                      error: str | None, result: Any) -> None:
        if not hasattr(self, "steps"):
            self.steps: dict[str, Any] = {}
            self.done: dict[str, Any] = {}
        self.steps[step] = {"state": state, "attempt": attempt}
        if state in ("FAILURE", "REVERT_FAILURE"):
            self.failures = {**getattr(self, "failures", {}),
                             step: {"error": error, "attempt": attempt}}
        if state == DONE:
            self.done[step] = result
        elif state in ("REVERTING", "REVERTED", "RETRYING"):
            self.done.pop(step, None)

    def summary(self) -> dict[str, Any]:
        """Hand-overs, skipped instances and every step that failed (and whether it recovered)."""
        steps: dict[str, Any] = getattr(self, "steps", {})
        failed = [{"step": name, "error": f["error"], "attempt": f["attempt"],
                   "recovered": steps.get(name, {}).get("state") == DONE}
                  for name, f in getattr(self, "failures", {}).items()]
        return {"handovers": list(getattr(self, "handovers", [])),
                "skipped": list(getattr(self, "skipped", [])), "failed_steps": failed}

    def handed_over(self) -> set[int]:
        """What the run has handed over to people (instances, or hosts)."""
        return {h["instance_id"] for h in getattr(self, "handovers", [])}

    def hand_over(self, meta: dict[str, Any], step: str, instance_id: int, reason: str) -> None:
        self._handed_over(meta, step, instance_id, reason)

    @event(HandedOver)
    def _handed_over(self, meta: dict[str, Any], step: str, instance_id: int,
                     reason: str) -> None:
        self.handovers = [*getattr(self, "handovers", []),
                          {"step": step, "instance_id": instance_id, "reason": reason}]

    def skip(self, meta: dict[str, Any], step: str, instance_id: int, reason: str) -> None:
        self._skipped(meta, step, instance_id, reason)

    @event(InstanceSkipped)
    def _skipped(self, meta: dict[str, Any], step: str, instance_id: int, reason: str) -> None:
        self.skipped = [*getattr(self, "skipped", []),
                        {"step": step, "instance_id": instance_id, "reason": reason}]


class Finding(Resource):
    """A difference an audit observed between the fleet and the ledger."""

    KIND = "finding"


AGGREGATES.update({Run.KIND: Run, Finding.KIND: Finding})
