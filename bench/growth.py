"""How each quantity grows with the log: the exponent of a power-law fit."""

from __future__ import annotations

import math
from typing import Any

QUANTITIES = (("replay_s", "replay time"), ("as_of_s", "whole-fleet as-of latency"),
              ("events_table_mib", "event table size"))


def exponent(points: list[tuple[float, float]]) -> float | None:
    """Least-squares slope of log(y) against log(x): 1 is linear, 0 is flat."""
    pts = [(math.log(x), math.log(y)) for x, y in points if x > 0 and y and y > 0]
    if len(pts) < 2:
        return None
    mx = sum(p[0] for p in pts) / len(pts)
    my = sum(p[1] for p in pts) / len(pts)
    den = sum((p[0] - mx) ** 2 for p in pts)
    return sum((p[0] - mx) * (p[1] - my) for p in pts) / den if den else None


def describe(k: float) -> str:
    if k < 0.15:
        return "stays flat"
    if k < 0.8:
        return "grows sub-linearly"
    if k < 1.2:
        return "grows linearly"
    return "grows faster than linearly"


def summary(growth: list[dict[str, Any]]) -> list[str]:
    out: list[str] = []
    if not growth:
        return out
    lo, hi = min(g["events"] for g in growth), max(g["events"] for g in growth)
    for key, label in QUANTITIES:
        k = exponent([(g["events"], g[key]) for g in growth if g.get(key) is not None])
        if k is not None:
            out.append(f"{label} {describe(k)} with the log (∝ events^{k:.2f} "
                       f"from {lo:,} to {hi:,} events)")
    return out
