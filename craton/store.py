"""How the ledger uses the event store: snapshots, the aggregate cache, the table lock."""

from __future__ import annotations

from typing import Any

from eventsourcing_sqlalchemy.recorders import SQLAlchemyApplicationRecorder
from sqlalchemy.orm import Session

from craton.domain.resource import Resource

SNAPSHOT_INTERVAL = 50
AGGREGATE_CACHE_SIZE = 2000


class EveryResource(dict):  # type: ignore[type-arg]
    """Snapshot every kind of resource each SNAPSHOT_INTERVAL versions."""

    def get(self, key: Any, default: Any = None) -> Any:
        return SNAPSHOT_INTERVAL if isinstance(key, type) and issubclass(key, Resource) \
            else default

    def __bool__(self) -> bool:
        return True


class LockHeldRecorder(SQLAlchemyApplicationRecorder):
    """Stores events inside ``Database.writing()``, which took the table lock already."""

    def _lock_table(self, session: Session) -> None:
        """Every save runs in a write transaction that locked the event table first."""


def mutate(aggregate: Any, events: Any) -> Any:
    """Apply stored events in order (the library's default also type-checks each one)."""
    for event in events:
        aggregate = event.mutate(aggregate)
    return aggregate
