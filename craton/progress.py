"""A progress line for long work (replays, imports), on stderr when it is a terminal."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator
from typing import TextIO, TypeVar

T = TypeVar("T")


class Progress:
    """Prints ``label: done/total (rate/s)`` at most a few times a second."""

    def __init__(self, label: str, total: int | None = None,
                 stream: TextIO | None = None, enabled: bool | None = None):
        self.label, self.total, self.done = label, total, 0
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.started = self._last = time.monotonic()

    def advance(self, count: int = 1) -> None:
        self.done += count
        now = time.monotonic()
        if self.enabled and now - self._last >= 0.25:
            self._last = now
            self._print("\r")

    def rate(self) -> float:
        return self.done / max(time.monotonic() - self.started, 1e-9)

    def _print(self, prefix: str, end: str = "") -> None:
        of = f"/{self.total:,}" if self.total else ""
        pct = f" {100 * self.done / self.total:5.1f}%" if self.total else ""
        self.stream.write(f"{prefix}{self.label}: {self.done:,}{of}{pct} "
                          f"({self.rate():,.0f}/s){end}")
        self.stream.flush()

    def finish(self) -> None:
        if self.enabled:
            self._print("\r", "\n")


def counted(items: Iterable[T], label: str, total: int | None = None,
            enabled: bool | None = None) -> Iterator[T]:
    """``items``, one by one, with a progress line of them (see ``Progress``)."""
    bar = Progress(label, total, enabled=enabled)
    for item in items:
        yield item
        bar.advance()
    bar.finish()
