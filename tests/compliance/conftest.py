"""Fixtures of the compliance tests: stand-in run/finding aggregates, a scripted history."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import craton.compliance.cli  # noqa: F401  (registers the report and evidence commands)
from craton.bootstrap import Services
from craton.domain import inventory

from .aggregates import ScriptedFinding, ScriptedRun
from .history import script_history


@pytest.fixture(autouse=True)
def scripted_aggregates(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Map runs and findings onto the stand-in aggregates for the test's duration."""
    monkeypatch.setitem(inventory.AGGREGATES, "workflow-run", ScriptedRun)
    monkeypatch.setitem(inventory.AGGREGATES, "finding", ScriptedFinding)
    yield


@pytest.fixture
def history(services: Services) -> tuple[Services, dict[str, Any]]:
    """The scripted history on SQLite and on PostgreSQL."""
    return services, script_history(services)


@pytest.fixture
def memory_history(memory_services: Services) -> tuple[Services, dict[str, Any]]:
    """The scripted history on an in-memory database."""
    return memory_services, script_history(memory_services)
