"""Governance metadata carried by every event: who, from where, why."""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field, replace
from functools import cached_property
from typing import Any

from craton.domain.errors import InvalidInput

SOURCES = ("api", "cli", "flow", "import", "system")


@dataclass(frozen=True)
class Meta:
    """Who made a change, on behalf of which project, from where and why."""

    actor_id: int | None
    actor_name: str
    source: str
    project_id: str | None = None
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    reason: str | None = None
    run_id: str | None = None

    def __post_init__(self) -> None:
        if not self.actor_name:
            raise InvalidInput("every change needs an actor")
        if self.source not in SOURCES:
            raise InvalidInput(
                f"source must be one of {', '.join(SOURCES)}, not {self.source!r}"
            )

    def as_dict(self) -> dict[str, Any]:
        return dict(self._fields)

    @cached_property
    def _fields(self) -> dict[str, Any]:
        return asdict(self)

    def for_project(self, project_id: str | None) -> Meta:
        return replace(self, project_id=project_id)

    def for_run(self, run_id: str) -> Meta:
        return replace(self, run_id=run_id, source="flow")


def system_meta(reason: str | None = None, source: str = "system") -> Meta:
    """Metadata for changes Craton makes on its own (bootstrap, demo data)."""
    return Meta(actor_id=None, actor_name="craton", source=source, reason=reason)
