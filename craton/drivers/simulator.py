"""A deterministic, thread-safe simulated fleet that implements FleetDriver.

What a simulator does can be watched as it happens: ``watch_migrations()`` tells
its holder of each live migration a simulator in this process begins, so a
demo, a dashboard or a test can act while an instance is being copied.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import fields
from typing import Any, NamedTuple

from craton.drivers.base import FleetDriver, HostFacts, MigrationResult
from craton.drivers.clock import Clock, ScaledClock, VirtualClock
from craton.drivers.errors import (
    DriverError,
    HostUnreachable,
    MigrationFailed,
    VerificationFailed,
)
from craton.drivers.simulator_config import SimulatorConfig
from craton.drivers.simulator_state import SimulatedFleet
from craton.drivers.simulator_world import hypervisor_from_template

__all__ = ["MigrationStarted", "MigrationWatch", "SimulatorDriver", "watch_migrations"]


class MigrationStarted(NamedTuple):
    """A live migration a simulator has begun: its instance is being copied now."""

    instance: str
    source: str
    target: str


class MigrationWatch:
    """The live migrations begun while a ``watch_migrations()`` block is open."""

    def __init__(self) -> None:
        self._started: list[MigrationStarted] = []
        self._changed = threading.Condition()

    def _saw(self, started: MigrationStarted) -> None:
        """Record a migration that has begun and wake whoever waits for it."""
        with self._changed:
            self._started.append(started)
            self._changed.notify_all()

    @property
    def started(self) -> list[MigrationStarted]:
        """Every migration begun so far while watching, in the order they began."""
        with self._changed:
            return list(self._started)

    def wait_for(self, instance: str, timeout: float | None = None) -> MigrationStarted | None:
        """Block until a migration of instance has begun while watching (at once if one
        already has); that migration, or None if timeout seconds pass first."""

        def found() -> MigrationStarted | None:
            return next((s for s in self._started if s.instance == instance), None)

        with self._changed:
            return self._changed.wait_for(found, timeout)


_watches: list[MigrationWatch] = []
_watches_lock = threading.Lock()


@contextmanager
def watch_migrations() -> Iterator[MigrationWatch]:
    """Watch the live migrations every simulator in this process begins (worlds rebuilt
    from a snapshot included) until the block ends.

    A migration is told once its checks have passed and room on the target is
    claimed, before any of its simulated time passes; migrations that are refused,
    or that find the instance already on its target, are not told.
    """
    watch = MigrationWatch()
    with _watches_lock:
        _watches.append(watch)
    try:
        yield watch
    finally:
        with _watches_lock:
            _watches.remove(watch)


def _announce(started: MigrationStarted) -> None:
    """Tell every open watch that a migration has begun."""
    with _watches_lock:
        watches = list(_watches)
    for watch in watches:
        watch._saw(started)


def _default_clock(config: SimulatorConfig) -> Clock:
    """Return a virtual clock, or a scaled real-time one when time_scale is set."""
    return VirtualClock() if config.time_scale is None else ScaledClock(config.time_scale)


class SimulatorDriver(FleetDriver):
    """Hypervisors and VMs in memory, with seeded faults and simulated time."""

    def __init__(
        self,
        config: SimulatorConfig | Mapping[str, Any] | None = None,
        *,
        hosts: Iterable[Mapping[str, Any]] = (),
        instances: Iterable[Mapping[str, Any]] = (),
        clock: Clock | None = None,
    ) -> None:
        """Model the given ledger rows under config; time passes on clock."""
        if config is None:
            config = SimulatorConfig()
        elif not isinstance(config, SimulatorConfig):
            config = SimulatorConfig.from_dict(config)
        self.clock = clock if clock is not None else _default_clock(config)
        self.fleet = SimulatedFleet(config)
        self.fleet.load(hosts, instances)

    @classmethod
    def from_inventory(
        cls,
        hosts: Iterable[Mapping[str, Any]],
        instances: Iterable[Mapping[str, Any]],
        config: SimulatorConfig | Mapping[str, Any] | None = None,
        *,
        clock: Clock | None = None,
    ) -> SimulatorDriver:
        """Build the simulated world the ledger's host and instance rows describe."""
        return cls(config, hosts=hosts, instances=instances, clock=clock)

    @classmethod
    def validate_config(cls, config: Mapping[str, Any]) -> list[str]:
        """Every problem with the settings, each setting judged on its own."""
        if not isinstance(config, Mapping):
            return ["the simulator's settings must be an object"]
        known = {f.name for f in fields(SimulatorConfig)}
        problems = [f"unknown simulator setting {key!r}; expected some of {sorted(known)}"
                    for key in sorted(set(config) - known)]
        for key in sorted(set(config) & known):
            try:
                SimulatorConfig.from_dict({key: config[key]})
            except (TypeError, ValueError, AttributeError) as exc:
                problems.append(f"{key}: {exc}")
        return problems

    @property
    def config(self) -> SimulatorConfig:
        """The settings the simulated fleet currently runs under."""
        return self.fleet.config

    def gather_facts(self, host: str) -> HostFacts:
        """Observe a host as its hypervisor API would report it."""
        with self.fleet.lock:
            hypervisor = self.fleet.host(host)
            if not hypervisor.reachable:
                raise HostUnreachable(host)
            if self.fleet.injected("gather_facts", host):
                raise HostUnreachable(host, "the request timed out")
            return self.fleet.facts(hypervisor)

    def _set_scheduling(self, operation: str, host: str, schedulable: bool) -> None:
        """Turn placement of new instances on a host on or off."""
        with self.fleet.lock:
            hypervisor = self.fleet.host(host)
            if self.fleet.injected(operation, host):
                raise DriverError(
                    f"could not change scheduling on host {host!r}: the scheduler API timed out",
                    retryable=True,
                )
            hypervisor.schedulable = schedulable

    def disable_scheduling(self, host: str) -> None:
        """Stop placing new instances on a host (idempotent)."""
        self._set_scheduling("disable_scheduling", host, False)

    def enable_scheduling(self, host: str) -> None:
        """Allow new instances on a host again (idempotent)."""
        self._set_scheduling("enable_scheduling", host, True)

    def build_host(self, name: str, template: dict[str, Any] | None = None) -> HostFacts:
        """Provision a host from template; an existing host is returned unchanged."""
        with self.fleet.lock:
            if name in self.fleet.hypervisors:
                return self.fleet.facts(self.fleet.hypervisors[name])
            failed = self.fleet.injected("build_host", name)
        self.clock.sleep(self.config.build_seconds)
        if failed:
            raise DriverError(
                f"building host {name!r} failed: the deployment image did not boot", retryable=True
            )
        with self.fleet.lock:
            built = hypervisor_from_template(name, template, self.config)
            return self.fleet.facts(self.fleet.hypervisors.setdefault(name, built))

    def verify_host(self, host: str) -> None:
        """Run the acceptance checks; raise VerificationFailed when one fails."""
        with self.fleet.lock:
            hypervisor = self.fleet.host(host)
            injected = self.fleet.injected("verify_host", host)
            reason = None
            if not hypervisor.reachable:
                reason = "the host does not answer"
            elif hypervisor.memory_reserved_mb >= hypervisor.memory_total_mb:
                reason = "no memory is left for instances after the host reservation"
            elif self.config.fails_verification(host):
                reason = f"the canary instance did not boot (firmware {hypervisor.firmware})"
            elif injected:
                reason = "the canary instance timed out while booting"
        self.clock.sleep(self.config.verify_seconds)
        if reason is not None:
            raise VerificationFailed(host, reason)

    def _migration_fault(self, instance: str) -> str | None:
        """Count a migration attempt and return why it is made to fail, if it is."""
        attempt = self.fleet.next_attempt("live_migrate", instance)
        if instance in self.config.always_failing_migrations:
            return "the instance dirties memory faster than the link can copy it"
        flaky = self.config.flaky_migrations.get(instance, 0)
        if attempt < flaky:
            return (
                f"the connection to the target was reset (attempt {attempt + 1} of {flaky} to fail)"
            )
        if self.fleet.roll_fails("live_migrate", instance, attempt):
            return "the target hypervisor stopped responding during the copy"
        return None

    def _start_migration(self, instance: str, source: str, target: str) -> tuple[float, str | None]:
        """Check a migration and claim room on target; return its duration and fault."""
        vm = self.fleet.vm(instance)
        origin, destination = self.fleet.host(source), self.fleet.host(target)
        if instance in self.fleet.in_flight:
            raise MigrationFailed(
                instance, source, target, "a migration of this instance is already running"
            )
        if vm.host != source:
            where = f"runs on {vm.host!r}" if vm.host else "is not running on any host"
            raise MigrationFailed(
                instance, source, target, f"the instance {where}", retryable=False
            )
        if not origin.reachable:
            raise MigrationFailed(instance, source, target, "the source host is unreachable")
        if not destination.reachable:
            raise MigrationFailed(instance, source, target, "the target host is unreachable")
        if not destination.schedulable:
            raise MigrationFailed(
                instance,
                source,
                target,
                "the target host does not accept new instances",
                retryable=False,
            )
        self.fleet.check_capacity(vm, source, destination)
        fault = self._migration_fault(instance)
        self.fleet.in_flight[instance] = target
        return vm.memory_mb / self.config.bandwidth_mb_s, fault

    def live_migrate(self, instance: str, source: str, target: str) -> MigrationResult:
        """Copy an instance's memory to target, taking time proportional to its size;
        open watches (see ``watch_migrations``) are told when the copy begins."""
        with self.fleet.lock:
            if self.fleet.vm(instance).host == target and instance not in self.fleet.in_flight:
                self.fleet.host(target)
                return MigrationResult(instance, source, target, ok=True, seconds=0.0)
            seconds, fault = self._start_migration(instance, source, target)
        try:
            _announce(MigrationStarted(instance, source, target))
            self.clock.sleep(seconds / 2 if fault else seconds)
        except BaseException:
            with self.fleet.lock:
                self.fleet.in_flight.pop(instance, None)
            raise
        with self.fleet.lock:
            self.fleet.in_flight.pop(instance, None)
            if fault is None and instance in self.fleet.vms:
                self.fleet.vms[instance].host = target
        if fault is not None:
            raise MigrationFailed(instance, source, target, fault)
        return MigrationResult(instance, source, target, ok=True, seconds=seconds)

    def locate(self, instance: str) -> str | None:
        """Return the host an instance really runs on, or None."""
        with self.fleet.lock:
            return self.fleet.vm(instance).host

    def mark_host(self, host: str, state: str) -> None:
        """Record an operational state such as 'drained' or 'maintenance'."""
        if not isinstance(state, str) or not state:
            raise ValueError(f"a host state must be a non-empty string, got {state!r}")
        with self.fleet.lock:
            hypervisor = self.fleet.host(host)
            if self.fleet.injected("mark_host", host):
                raise DriverError(
                    f"could not mark host {host!r} as {state!r}: the API timed out", retryable=True
                )
            hypervisor.state = state

    def host_state(self, host: str) -> str:
        """Return the operational state last recorded for a host."""
        with self.fleet.lock:
            return self.fleet.host(host).state

    def snapshot(self) -> dict[str, Any]:
        """Return a JSON-safe picture of the whole simulated world."""
        return self.fleet.snapshot()

    def restore(self, data: Mapping[str, Any]) -> None:
        """Replace the simulated world with one taken by snapshot()."""
        self.fleet.restore(data)

    @classmethod
    def from_snapshot(
        cls, data: Mapping[str, Any], *, clock: Clock | None = None
    ) -> SimulatorDriver:
        """Rebuild a simulator from snapshot() output."""
        config = SimulatorConfig.from_dict(data["config"])
        driver = cls(clock=clock if clock is not None else _default_clock(config))
        driver.restore(data)
        return driver

    def to_json(self) -> str:
        """Return the snapshot as a JSON string."""
        return json.dumps(self.snapshot(), sort_keys=True)

    @classmethod
    def from_json(cls, text: str, *, clock: Clock | None = None) -> SimulatorDriver:
        """Rebuild a simulator from to_json() output."""
        return cls.from_snapshot(json.loads(text), clock=clock)
