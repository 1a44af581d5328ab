"""Clocks the simulator uses to let simulated operations take time."""

from __future__ import annotations

import threading
import time
from typing import Protocol, runtime_checkable

__all__ = ["Clock", "ScaledClock", "VirtualClock"]


@runtime_checkable
class Clock(Protocol):
    """Anything that can wait for a number of simulated seconds."""

    def sleep(self, seconds: float) -> None:
        """Let the given number of simulated seconds pass."""


class VirtualClock:
    """A clock that only advances a counter, so simulated work is instant."""

    def __init__(self, start: float = 0.0) -> None:
        """Start the counter at the given number of seconds."""
        self._now = float(start)
        self._lock = threading.Lock()

    def sleep(self, seconds: float) -> None:
        """Advance the counter without waiting."""
        if seconds < 0:
            raise ValueError(f"cannot sleep a negative time ({seconds:g} s)")
        with self._lock:
            self._now += seconds

    def now(self) -> float:
        """Return the simulated seconds elapsed so far."""
        with self._lock:
            return self._now


class ScaledClock(VirtualClock):
    """A clock that really waits, scaled down so demos stay watchable."""

    def __init__(self, time_scale: float, start: float = 0.0) -> None:
        """Wait ``seconds * time_scale`` real seconds for each simulated one."""
        if time_scale < 0:
            raise ValueError(f"time_scale must not be negative, got {time_scale:g}")
        super().__init__(start)
        self.time_scale = time_scale

    def sleep(self, seconds: float) -> None:
        """Advance the counter and block for the scaled real time."""
        super().sleep(seconds)
        if self.time_scale:
            time.sleep(seconds * self.time_scale)
