"""Configuration and seeded fault injection for the fleet simulator."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import Any

__all__ = ["FAULTABLE_OPERATIONS", "SimulatorConfig", "fault_roll"]

FAULTABLE_OPERATIONS: frozenset[str] = frozenset(
    {
        "gather_facts",
        "disable_scheduling",
        "enable_scheduling",
        "build_host",
        "verify_host",
        "live_migrate",
        "mark_host",
    }
)

_SETS = ("unreachable_hosts", "failing_verification", "always_failing_migrations")
_MAPPINGS = ("failure_rates", "flaky_migrations", "misplaced_instances")


def fault_roll(seed: int, operation: str, target: str, attempt: int) -> float:
    """Return a number in [0, 1) fixed by (seed, operation, target, attempt)."""
    key = f"{seed}\x1f{operation}\x1f{target}\x1f{attempt}".encode()
    digest = hashlib.sha256(key).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


@dataclass(frozen=True)
class SimulatorConfig:
    """How the simulated fleet misbehaves and how fast it works."""

    seed: int = 0
    failure_rates: Mapping[str, float] = field(default_factory=dict)
    unreachable_hosts: AbstractSet[str] = field(default_factory=frozenset)
    failing_verification: AbstractSet[str] = field(default_factory=frozenset)
    flaky_migrations: Mapping[str, int] = field(default_factory=dict)
    always_failing_migrations: AbstractSet[str] = field(default_factory=frozenset)
    misplaced_instances: Mapping[str, str | None] = field(default_factory=dict)
    bandwidth_mb_s: float = 1024.0
    build_seconds: float = 600.0
    verify_seconds: float = 30.0
    time_scale: float | None = None

    def __post_init__(self) -> None:
        """Validate the settings and freeze the collections."""
        for name in _SETS:
            object.__setattr__(self, name, frozenset(getattr(self, name)))
        for name in _MAPPINGS:
            object.__setattr__(self, name, MappingProxyType(dict(getattr(self, name))))
        unknown = sorted(set(self.failure_rates) - FAULTABLE_OPERATIONS)
        if unknown:
            raise ValueError(
                f"failure_rates names unknown operations {unknown}; "
                f"choose from {sorted(FAULTABLE_OPERATIONS)}"
            )
        for operation, rate in self.failure_rates.items():
            if not 0.0 <= rate <= 1.0:
                raise ValueError(
                    f"failure rate for {operation!r} must be between 0 and 1, got {rate}"
                )
        for instance, times in self.flaky_migrations.items():
            if times < 0:
                raise ValueError(
                    f"flaky_migrations[{instance!r}] must not be negative, got {times}"
                )
        if self.bandwidth_mb_s <= 0:
            raise ValueError(f"bandwidth_mb_s must be positive, got {self.bandwidth_mb_s}")
        if self.build_seconds < 0 or self.verify_seconds < 0:
            raise ValueError("build_seconds and verify_seconds must not be negative")
        if self.time_scale is not None and self.time_scale < 0:
            raise ValueError(f"time_scale must not be negative, got {self.time_scale}")

    def failure_rate(self, operation: str) -> float:
        """Return the injected failure rate for an operation (0 when unset)."""
        return float(self.failure_rates.get(operation, 0.0))

    def fails_verification(self, host: str) -> bool:
        """Tell whether a host name matches a configured verification failure."""
        return any(host == p or host.startswith(p) for p in self.failing_verification)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-safe form that from_dict turns back into this config."""
        data: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in _SETS:
                value = sorted(value)
            elif f.name in _MAPPINGS:
                value = dict(sorted(value.items()))
            data[f.name] = value
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SimulatorConfig:
        """Build a config from to_dict output; unknown keys are rejected."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(
                f"unknown simulator settings {unknown}; expected some of {sorted(known)}"
            )
        return cls(**dict(data))
