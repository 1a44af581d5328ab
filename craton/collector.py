"""Bulk work with the cycle collector held off."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """Hold off the cycle collector while bulk work holds many objects.

    A replay or an import keeps hundreds of thousands of plain dicts and
    aggregates alive; every full collection would walk them all again, for
    nothing, since reference counting frees them. Nested uses are harmless.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
