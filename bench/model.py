"""What a run produces: measurements grouped by figure, with their targets."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

TIMES = "\u00d7"  # the multiplication sign ratios are written with
TITLES = {
    1: "One inventory change end to end (HTTP PUT of host variables)",
    2: "8 concurrent clients making changes",
    3: "Bulk import of a fleet",
    4: "Full replay of the log",
    5: "GET /v1/hosts?limit=100 under 2 gunicorn workers",
    6: "The whole fleet as of a past moment",
    7: "One host's history and as-of over a large log",
    8: "Peak memory against the size of the log",
}


@dataclass
class Target:
    """``value / baseline`` must be ``op`` ``ratio`` (op is "<=" or ">=")."""

    op: str
    ratio: float
    label: str = ""

    def met(self, ratio: float) -> bool:
        if math.isnan(ratio):
            return False
        return ratio <= self.ratio if self.op == "<=" else ratio >= self.ratio

    def text(self) -> str:
        return self.label or f"{'≤' if self.op == '<=' else '≥'} {self.ratio:g}{TIMES}"


@dataclass
class Measurement:
    """One measured value beside its baseline."""

    name: str
    unit: str
    value: float
    baseline: float
    baseline_name: str
    target: Target | None = None
    note: str = ""

    @property
    def ratio(self) -> float:
        if not self.baseline or math.isnan(self.baseline) or math.isnan(self.value):
            return float("nan")
        return self.value / self.baseline

    @property
    def met(self) -> bool | None:
        return None if self.target is None else self.target.met(self.ratio)

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name, "unit": self.unit, "value": _num(self.value),
            "baseline": _num(self.baseline), "baseline_name": self.baseline_name,
            "ratio": _num(self.ratio),
            "target": None if self.target is None else {
                "op": self.target.op, "ratio": self.target.ratio, "text": self.target.text()},
            "met": self.met, "note": self.note,
        }


@dataclass
class Figure:
    """The measurements of one numbered figure on one database."""

    number: int
    measurements: list[Measurement] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    profile: str = ""
    error: str = ""

    @property
    def met(self) -> bool | None:
        if self.error:
            return False
        results = [m.met for m in self.measurements if m.met is not None]
        return all(results) if results else None

    def as_json(self) -> dict[str, Any]:
        measurements = [m.as_json() for m in self.measurements]
        return {"title": TITLES.get(self.number, ""), **headline(measurements),
                "met": self.met, "measurements": measurements,
                "details": self.details, "profile": self.profile, "error": self.error}


def headline(measurements: list[dict[str, Any]]) -> dict[str, Any]:
    """A figure's value, baseline, ratio and target as one line shows them: its first
    measurement that misses its target, else its first with a target."""
    targeted = [m for m in measurements if m.get("target") is not None]
    chosen = next((m for m in targeted if m.get("met") is False),
                  targeted[0] if targeted else None)
    if chosen is None:
        return {"value": None, "baseline": None, "ratio": None, "target": None}
    return {"value": chosen["value"], "baseline": chosen["baseline"],
            "ratio": chosen["ratio"], "target": chosen["target"]["text"]}


@dataclass
class Run:
    """Everything one database's run measured."""

    database: str
    started: str
    seconds: float = 0.0
    quick: bool = False
    server: str = ""
    figures: dict[int, Figure] = field(default_factory=dict)
    growth: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    sizes: dict[str, Any] = field(default_factory=dict)
    code: dict[str, Any] = field(default_factory=dict)

    def figure(self, number: int) -> Figure:
        return self.figures.setdefault(number, Figure(number))

    def as_json(self) -> dict[str, Any]:
        return {
            "database": self.database, "started": self.started,
            "seconds": round(self.seconds, 1), "quick": self.quick, "server": self.server,
            "sizes": self.sizes, "code": self.code, "notes": self.notes, "growth": self.growth,
            "figures": {str(n): f.as_json() for n, f in sorted(self.figures.items())},
        }


def _num(value: float) -> float | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return round(float(value), 6)


def as_dict(obj: Any) -> dict[str, Any]:
    return asdict(obj)
