"""The base of every step: idempotent, and recording its own completion.

Tasks take everything they need as arguments (``inject``), never through
their constructors, so TaskFlow's remote workers can rebuild them by name.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from taskflow import retry, task

from craton.domain.runs import DONE
from craton.flows.runtime import runtime_for


def _plain(value: Any) -> Any:
    """A JSON-safe copy of a step's result, as stored in its event."""
    return json.loads(json.dumps(value, default=str))


class FleetTask(task.Task):
    """A step that acts on the fleet; done exactly once, even when a run resumes."""

    def execute(self, run_id: str, **kwargs: Any) -> Any:
        runtime = runtime_for(run_id)
        run = runtime.load_run(run_id)
        if run.is_done(self.name):  # a resumed run re-entering a finished step
            return run.step_result(self.name)
        with runtime.step(run_id, self.name) as step:
            if step.run().is_done(self.name):
                return step.run().step_result(self.name)
            result = _plain(self.act(step, **kwargs))
            step.record(lambda r: r.change_step(
                step.meta.as_dict(), self.name, DONE, result=result))
        return result

    # act(step, **arguments) does the step's work and returns a JSON-safe result;
    # undo(step, **arguments) undoes its effects (idempotent), if it has any.
    act: Callable[..., Any]
    undo: Callable[..., None] | None = None

    def revert(self, run_id: str, **kwargs: Any) -> None:
        if self.undo is None:  # nothing to undo: no step, no lock taken for it
            return
        kwargs.pop("result", None)
        kwargs.pop("flow_failures", None)
        runtime = runtime_for(run_id)
        with runtime.step(run_id, self.name) as step:
            self.undo(step, **kwargs)


def step_task(cls: type[FleetTask], name: str, run_id: str,
              rebind: dict[str, str] | None = None, **args: Any) -> FleetTask:
    """A step whose arguments travel with it (so a remote worker can run it)."""
    inject = {"run_id": run_id, **args}
    return cls(name=name, requires=[*inject, *(rebind or {})], inject=inject, rebind=rebind)


class BatchGuard(retry.Retry):
    """A batch that fails is reverted on its own; batches already done stay done."""

    def execute(self, history: Any, *args: Any, **kwargs: Any) -> int:
        return len(history) + 1

    def revert(self, history: Any, *args: Any, **kwargs: Any) -> None:
        return None

    def on_failure(self, history: Any, *args: Any, **kwargs: Any) -> retry.Decision:
        return retry.REVERT


class AttemptCounter(retry.Retry):
    """Retries its subflow while attempts remain; provides the attempt number."""

    def __init__(self, name: str, attempts: int, provides: str):
        super().__init__(name=name, provides=provides)
        self.attempts = attempts

    def execute(self, history: Any, *args: Any, **kwargs: Any) -> int:
        return len(history) + 1

    def revert(self, history: Any, *args: Any, **kwargs: Any) -> None:
        return None

    def on_failure(self, history: Any, *args: Any, **kwargs: Any) -> retry.Decision:
        return retry.RETRY if len(history) < self.attempts else retry.REVERT
