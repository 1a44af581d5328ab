"""Workflows: TaskFlow flows found through stevedore, run by workers, recorded as events."""

from __future__ import annotations

import craton.domain.runs  # noqa: F401  (registers the run and finding aggregates)

NAMESPACE = "craton.flows"
