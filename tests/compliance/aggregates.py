"""Stand-in run and finding aggregates, so that reports can be tested on scripted histories."""

from __future__ import annotations

from typing import Any

from eventsourcing.domain import event

from craton.domain.resource import Event, Resource


class ScriptedRun(Resource):
    """A workflow run whose step transitions a test writes by hand."""

    KIND = "workflow-run"

    class StepChanged(Event):
        meta: dict[str, Any]
        step: str
        state: str
        attempt: int

    class HandedOver(Event):
        meta: dict[str, Any]
        step: str
        note: str

    @event(StepChanged)
    def step_changed(self, meta: dict[str, Any], step: str, state: str, attempt: int) -> None:
        pass

    @event(HandedOver)
    def handed_over(self, meta: dict[str, Any], step: str, note: str) -> None:
        pass


class ScriptedFinding(Resource):
    """An audit finding."""

    KIND = "finding"
