"""The interface through which workflows act on a fleet.

A driver turns the ledger's intentions into actions on real hypervisors.
Hosts and instances are always referred to by name; every method either
succeeds, returns plain data, or raises a :class:`DriverError` subclass
whose message an operator can read.  Methods that change the fleet are
idempotent so a resumed workflow may safely repeat them.

How real back ends map onto each method:

``gather_facts(host)``
    OpenStack: ``GET /os-hypervisors/{id}`` for memory, vCPU and disk
    totals and usage, ``GET /servers?host=`` for running instances and the
    ``nova-compute`` service status for ``schedulable``.  Ansible: run the
    ``setup`` module (``ansible_memtotal_mb``, ``ansible_processor_vcpus``,
    ``ansible_bios_version``) plus ``virsh list`` through ``command``.
    Raise :class:`HostUnreachable` when the API or SSH cannot reach it.
``disable_scheduling(host)`` / ``enable_scheduling(host)``
    OpenStack: ``PUT /os-services/{id}`` with ``status=disabled|enabled``
    and a ``disabled_reason``.  Ansible: a play that toggles the
    scheduler's host aggregate or the compute service on the host.
    Repeating either call leaves the host in the same state.
``build_host(name, template)``
    OpenStack: enrol the node with Ironic, deploy the compute image and
    wait for the ``nova-compute`` service to register.  Ansible: run the
    provisioning playbook with the template as extra vars.  If the host
    already exists, return its facts without rebuilding it.
``verify_host(host)``
    Run the acceptance checks (firmware level, memory seen by the kernel,
    test boot of a canary instance) and raise :class:`VerificationFailed`.
``live_migrate(instance, source, target)``
    OpenStack: ``POST /servers/{id}/action`` with ``os-migrateLive`` and
    ``host=target``, then poll ``/os-migrations`` until it completes.
    Ansible: ``virsh migrate --live`` on the source.  Raise
    :class:`MigrationFailed` (or :class:`CapacityExceeded`) on failure; if
    the instance already runs on ``target`` return an ``ok`` result.
``locate(instance)``
    OpenStack: ``OS-EXT-SRV-ATTR:host`` of the server.  Ansible: search
    ``virsh list`` output across hosts.  Returns where it really runs,
    which may differ from what the ledger believes.
``mark_host(host, state)``
    OpenStack: set host aggregate metadata or a trait such as
    ``CUSTOM_MAINTENANCE``.  Ansible: write the state into the inventory
    or a host fact file.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["FleetDriver", "HostFacts", "MigrationResult"]


@dataclass(frozen=True)
class HostFacts:
    """What a driver observed about one host at one moment."""

    host: str
    reachable: bool
    memory_total_mb: int
    memory_reserved_mb: int
    memory_used_mb: int
    vcpus: int
    vcpus_used: int
    disk_gb: int
    disk_used_gb: int
    cpu_model: str
    firmware: str
    running_instances: tuple[str, ...] = field(default_factory=tuple)
    schedulable: bool = True

    @property
    def memory_free_mb(self) -> int:
        """Memory still available to instances."""
        return self.memory_total_mb - self.memory_reserved_mb - self.memory_used_mb

    @property
    def vcpus_free(self) -> int:
        """vCPUs not yet allocated to instances."""
        return self.vcpus - self.vcpus_used

    @property
    def disk_free_gb(self) -> int:
        """Disk not yet allocated to instances."""
        return self.disk_gb - self.disk_used_gb

    def as_facts(self) -> dict[str, Any]:
        """Return JSON-safe facts suitable for recording in the ledger."""
        facts = asdict(self)
        facts["running_instances"] = list(self.running_instances)
        return facts


@dataclass(frozen=True)
class MigrationResult:
    """The outcome of one live migration."""

    instance: str
    source: str
    target: str
    ok: bool
    seconds: float = 0.0
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """Return a JSON-safe record of the migration."""
        return asdict(self)


class FleetDriver(abc.ABC):
    """Actions a workflow may take on hypervisors and their instances."""

    @classmethod
    def validate_config(cls, config: Mapping[str, Any]) -> list[str]:
        """Every problem with ``config``, found without building the driver.

        The API calls this when a run is requested, so bad settings are refused
        then rather than failing the run in a worker. A driver that cannot judge
        its settings in advance accepts them all, as this default does.
        """
        return []

    @abc.abstractmethod
    def gather_facts(self, host: str) -> HostFacts:
        """Observe a host; raise HostUnreachable or UnknownHost."""

    @abc.abstractmethod
    def disable_scheduling(self, host: str) -> None:
        """Stop placing new instances on a host (idempotent)."""

    @abc.abstractmethod
    def enable_scheduling(self, host: str) -> None:
        """Allow new instances on a host again (idempotent)."""

    @abc.abstractmethod
    def build_host(self, name: str, template: dict[str, Any] | None = None) -> HostFacts:
        """Provision a fresh compute host, or return it if it already exists."""

    @abc.abstractmethod
    def verify_host(self, host: str) -> None:
        """Run acceptance checks on a host; raise VerificationFailed."""

    @abc.abstractmethod
    def live_migrate(self, instance: str, source: str, target: str) -> MigrationResult:
        """Move a running instance to target; raise MigrationFailed."""

    @abc.abstractmethod
    def locate(self, instance: str) -> str | None:
        """Return the host an instance actually runs on, or None."""

    @abc.abstractmethod
    def mark_host(self, host: str, state: str) -> None:
        """Record an operational state such as 'drained' or 'maintenance'."""
