"""Lists cut into pieces: values for one SQL ``IN`` list, or batches of work."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TypeVar

T = TypeVar("T")

IN_LIST = 900  # values in one IN (...) list, under SQLite's limit on bound parameters


def pieces(items: Sequence[T], size: int = IN_LIST) -> Iterator[list[T]]:
    """``items`` in order, ``size`` at a time (the last piece may be shorter)."""
    size = max(size, 1)
    for start in range(0, len(items), size):
        yield list(items[start:start + size])
