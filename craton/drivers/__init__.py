"""Drivers through which workflows act on a fleet.

Drivers are plugins in the stevedore namespace ``craton.drivers``.  The
built-in simulator is registered under that namespace with the entry point::

    simulator = craton.drivers.simulator:SimulatorDriver

(in ``pyproject.toml``: ``[project.entry-points."craton.drivers"]``)

and loaded with ``load_driver("simulator", config=...)``.
"""

from __future__ import annotations

from craton.drivers.base import FleetDriver, HostFacts, MigrationResult
from craton.drivers.clock import Clock, ScaledClock, VirtualClock
from craton.drivers.errors import (
    CapacityExceeded,
    DriverError,
    HostUnreachable,
    MigrationFailed,
    UnknownHost,
    UnknownInstance,
    VerificationFailed,
)
from craton.drivers.loader import UnknownDriver, load_driver
from craton.drivers.simulator import SimulatorDriver
from craton.drivers.simulator_config import SimulatorConfig

__all__ = [
    "CapacityExceeded",
    "Clock",
    "DriverError",
    "FleetDriver",
    "HostFacts",
    "HostUnreachable",
    "MigrationFailed",
    "MigrationResult",
    "ScaledClock",
    "SimulatorConfig",
    "SimulatorDriver",
    "UnknownDriver",
    "UnknownHost",
    "UnknownInstance",
    "VerificationFailed",
    "VirtualClock",
    "load_driver",
]
