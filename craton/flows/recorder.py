"""Every transition of every task and retry, recorded as an event of the run.

TaskFlow saves an atom's state before it notifies listeners and swallows
what listeners raise. So the recorder retries a failed write, suspends the
engine when it still cannot record (the run resumes later), and on every
(re)start reconciles the events with the logbook, recording what was missed.
A transition refused because another worker holds the run now (``LeaseLost``)
is not retried: that worker records the run from here on.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from taskflow import states
from taskflow.types.failure import Failure
from taskflow.types.notifier import Notifier

from craton.domain.runs import Run
from craton.flows.runtime import Runtime
from craton.flows.storage import LeaseLost

LOG = logging.getLogger(__name__)
RECORDED = (states.RUNNING, states.SUCCESS, states.FAILURE, states.REVERTING,
            states.REVERTED, states.REVERT_FAILURE, states.RETRYING)
FINAL = (states.SUCCESS, states.FAILURE, states.REVERTED, states.REVERT_FAILURE)


def _describe(result: Any) -> tuple[str | None, Any]:
    if isinstance(result, Failure):
        return result.exception_str or result.pformat(), None
    try:
        import json

        return None, json.loads(json.dumps(result, default=str))
    except (TypeError, ValueError):
        return None, repr(result)


class StepRecorder:
    """Listens to one engine and records its transitions on the run."""

    def __init__(self, runtime: Runtime, run_uuid: str, engine: Any):
        self.runtime, self.run_uuid, self.engine = runtime, run_uuid, engine
        self.cancelled = False
        self.lost = False  # another worker holds the run: nothing more is recorded here

    def attach(self) -> None:
        self.engine.atom_notifier.register(Notifier.ANY, self.on_transition)

    def detach(self) -> None:
        self.engine.atom_notifier.deregister(Notifier.ANY, self.on_transition)

    def on_transition(self, state: str, details: dict[str, Any]) -> None:
        if state not in RECORDED or self.lost:
            return
        name = details.get("task_name") or details.get("retry_name") or "?"
        error, result = _describe(details.get("result"))
        if state != states.SUCCESS:
            result = None
        for attempt in range(3):
            try:
                self._record(name, state, error, result)
                return
            except LeaseLost:
                self.lost = True
                return
            except Exception:
                LOG.exception("could not record %s of step %s (attempt %d)",
                              state, name, attempt + 1)
                time.sleep(0.2 * (attempt + 1))
        # Never let a run go on with steps missing from its record.
        LOG.error("suspending run %s: its steps cannot be recorded", self.run_uuid)
        try:
            self.engine.suspend()
        except LeaseLost:  # (suspending writes the logbook, fenced as well)
            self.lost = True

    def _record(self, name: str, state: str, error: str | None, result: Any) -> None:
        meta = self.runtime.meta(self.run_uuid).as_dict()

        def act(run: Run) -> bool:
            run.change_step(meta, name, state, error=error, result=result)
            return bool(run.fields.get("cancel_requested"))

        cancel = self.runtime.record(self.run_uuid, act)
        if cancel and not self.cancelled:
            # After the record's transaction: suspending saves the flow's state in the
            # logbook, a write of its own that the record's write lock would block.
            self.cancelled = True
            self.engine.suspend()

    def reconcile(self) -> int:
        """Record final states the logbook holds but the events lack; returns how many."""
        storage = self.engine.storage
        names = [ad.name for ad in storage._flowdetail]
        missing = 0
        meta = self.runtime.meta(self.run_uuid).as_dict()

        def act(run: Run) -> None:
            nonlocal missing
            for name in names:
                state = storage.get_atom_state(name)
                if state not in FINAL or run.step_state(name)[0] == state:
                    continue
                if state == states.SUCCESS and run.is_done(name):
                    continue
                error, result = None, None
                if state == states.FAILURE:
                    error, _ = _describe(storage.get(name))
                elif state == states.SUCCESS:
                    _, result = _describe(storage.get(name))
                if run.change_step(meta, name, state, error=error, result=result):
                    missing += 1

        self.runtime.record(self.run_uuid, act)
        return missing
