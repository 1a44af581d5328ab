"""The simulator's mutable world: hosts, instances, claims and fault counters."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from typing import Any

from craton.drivers.base import HostFacts
from craton.drivers.errors import CapacityExceeded, UnknownHost, UnknownInstance
from craton.drivers.simulator_config import SimulatorConfig, fault_roll
from craton.drivers.simulator_world import (
    DEFAULT_INSTANCE_SIZE,
    VM,
    Hypervisor,
    hypervisor_from_row,
    vm_from_row,
)

__all__ = ["SNAPSHOT_FORMAT", "SimulatedFleet"]

SNAPSHOT_FORMAT = 1


class SimulatedFleet:
    """Hypervisors and VMs guarded by one lock; callers hold ``lock`` while mutating."""

    def __init__(self, config: SimulatorConfig) -> None:
        """Start with an empty fleet under config."""
        self.config = config
        self.lock = threading.RLock()
        self.hypervisors: dict[str, Hypervisor] = {}
        self.vms: dict[str, VM] = {}
        self.attempts: dict[str, dict[str, int]] = {}
        self.in_flight: dict[str, str] = {}

    def load(
        self, hosts: Iterable[Mapping[str, Any]], instances: Iterable[Mapping[str, Any]]
    ) -> None:
        """Add ledger rows, placing misplaced instances where they really run."""
        with self.lock:
            for row in hosts:
                hypervisor = hypervisor_from_row(row, self.config)
                self.hypervisors[hypervisor.name] = hypervisor
            misplaced = self.config.misplaced_instances
            for row in instances:
                name = str(row["name"])
                self.vms[name] = vm_from_row(row, misplaced.get(name, row.get("host")))
            for name, host in misplaced.items():
                if name not in self.vms:
                    self.vms[name] = vm_from_row({"name": name, **DEFAULT_INSTANCE_SIZE}, host)
            for vm in self.vms.values():
                if vm.host is not None and vm.host not in self.hypervisors:
                    raise UnknownHost(vm.host)

    def host(self, name: str) -> Hypervisor:
        """Return the hypervisor called name or raise UnknownHost."""
        try:
            return self.hypervisors[name]
        except KeyError:
            raise UnknownHost(name) from None

    def vm(self, name: str) -> VM:
        """Return the instance called name or raise UnknownInstance."""
        try:
            return self.vms[name]
        except KeyError:
            raise UnknownInstance(name) from None

    def next_attempt(self, operation: str, target: str) -> int:
        """Count one more attempt of operation on target; return its index."""
        counts = self.attempts.setdefault(operation, {})
        attempt = counts.get(target, 0)
        counts[target] = attempt + 1
        return attempt

    def roll_fails(self, operation: str, target: str, attempt: int) -> bool:
        """Tell whether the configured failure rate hits this attempt."""
        rate = self.config.failure_rate(operation)
        return rate > 0 and fault_roll(self.config.seed, operation, target, attempt) < rate

    def injected(self, operation: str, target: str) -> bool:
        """Count an attempt and tell whether it is made to fail."""
        return self.roll_fails(operation, target, self.next_attempt(operation, target))

    def facts(self, hypervisor: Hypervisor) -> HostFacts:
        """Summarise a hypervisor, counting migrations heading to it as used."""
        guests = [vm for vm in self.vms.values() if vm.host == hypervisor.name]
        incoming = [self.vms[n] for n, t in self.in_flight.items() if t == hypervisor.name]
        claimed = guests + incoming
        return HostFacts(
            host=hypervisor.name,
            reachable=hypervisor.reachable,
            memory_total_mb=hypervisor.memory_total_mb,
            memory_reserved_mb=hypervisor.memory_reserved_mb,
            memory_used_mb=sum(vm.memory_mb for vm in claimed),
            vcpus=hypervisor.vcpus,
            vcpus_used=sum(vm.vcpus for vm in claimed),
            disk_gb=hypervisor.disk_gb,
            disk_used_gb=sum(vm.disk_gb for vm in claimed),
            cpu_model=hypervisor.cpu_model,
            firmware=hypervisor.firmware,
            running_instances=tuple(sorted(vm.name for vm in guests)),
            schedulable=hypervisor.schedulable,
        )

    def check_capacity(self, vm: VM, source: str, target: Hypervisor) -> None:
        """Raise CapacityExceeded unless target has room for vm."""
        facts, t = self.facts(target), target
        for resource, needed, free in (
            ("vCPUs", vm.vcpus, facts.vcpus * t.cpu_ratio - facts.vcpus_used),
            ("MB of memory", vm.memory_mb,
             (facts.memory_total_mb - facts.memory_reserved_mb) * t.ram_ratio
             - facts.memory_used_mb),
            ("GB of disk", vm.disk_gb, facts.disk_gb * t.disk_ratio - facts.disk_used_gb),
        ):
            if needed > free:
                raise CapacityExceeded(vm.name, source, target.name, resource, needed, max(free, 0))

    def snapshot(self) -> dict[str, Any]:
        """Return a JSON-safe picture of the fleet; in-flight migrations are left out."""
        with self.lock:
            return {
                "format": SNAPSHOT_FORMAT,
                "config": self.config.to_dict(),
                "hypervisors": [self.hypervisors[n].to_dict() for n in sorted(self.hypervisors)],
                "instances": [self.vms[n].to_dict() for n in sorted(self.vms)],
                "attempts": {
                    op: dict(sorted(c.items())) for op, c in sorted(self.attempts.items())
                },
            }

    def restore(self, data: Mapping[str, Any]) -> None:
        """Replace the fleet with one taken by snapshot()."""
        if data.get("format") != SNAPSHOT_FORMAT:
            raise ValueError(f"unsupported simulator snapshot format {data.get('format')!r}")
        config = SimulatorConfig.from_dict(data["config"])
        hypervisors = [Hypervisor.from_dict(h) for h in data["hypervisors"]]
        vms = [VM.from_dict(v) for v in data["instances"]]
        attempts = {
            str(op): {str(t): int(n) for t, n in c.items()}
            for op, c in data.get("attempts", {}).items()
        }
        with self.lock:
            self.config = config
            self.hypervisors = {h.name: h for h in hypervisors}
            self.vms = {vm.name: vm for vm in vms}
            self.attempts = attempts
            self.in_flight = {}
