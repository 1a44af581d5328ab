"""The time events are stamped with; replaceable for imports of past history."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

_source: ContextVar[Callable[[], datetime] | None] = ContextVar("clock", default=None)


def now() -> datetime:
    source = _source.get()
    return source() if source is not None else datetime.now(UTC)


@contextmanager
def using(source: Callable[[], datetime]) -> Iterator[None]:
    """Stamp events made inside the block with ``source()`` instead of the wall clock."""
    token = _source.set(source)
    try:
        yield
    finally:
        _source.reset(token)
