"""Timing helpers: percentiles, rates and one place to read the clock."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

now = time.perf_counter


def percentile(values: Sequence[float], p: float) -> float:
    """The ``p``-th percentile (0..100) by linear interpolation."""
    if not values:
        return float("nan")
    data = sorted(values)
    k = (len(data) - 1) * p / 100.0
    lo, hi = int(k), min(int(k) + 1, len(data) - 1)
    return data[lo] + (data[hi] - data[lo]) * (k - lo)


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """Seconds one call took, and what it returned."""
    start = now()
    out = fn()
    return now() - start, out


def samples(fn: Callable[[], Any], count: int, warmup: int = 3) -> list[float]:
    """Seconds of ``count`` calls, after a few unmeasured ones."""
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(count):
        start = now()
        fn()
        out.append(now() - start)
    return out


def interleaved(fns: dict[str, Callable[[], Any]], count: int, warmup: int = 3
                ) -> dict[str, list[float]]:
    """Time several calls turn about, so noise on the machine hits each alike."""
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    out: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(count):
        for name, fn in fns.items():
            start = now()
            fn()
            out[name].append(now() - start)
    return out
