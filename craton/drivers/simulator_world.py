"""The simulated hypervisors and instances, and how they are read from the ledger."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from craton.drivers.simulator_config import SimulatorConfig

__all__ = [
    "DEFAULT_HOST_FACTS",
    "DEFAULT_INSTANCE_SIZE",
    "VM",
    "Hypervisor",
    "hypervisor_from_row",
    "hypervisor_from_template",
    "vm_from_row",
]

DEFAULT_HOST_FACTS: Mapping[str, Any] = {
    "memory_total_mb": 256 * 1024,
    "memory_reserved_mb": 4096,
    "vcpus": 64,
    "disk_gb": 2048,
    "firmware": "2.14.1",
    "cpu_model": "Intel Xeon Gold 6338",
}

DEFAULT_INSTANCE_SIZE: Mapping[str, int] = {"vcpus": 2, "memory_mb": 4096, "disk_gb": 40}


@dataclass
class Hypervisor:
    """One simulated compute host."""

    name: str
    cell: int | str | None
    vcpus: int
    memory_total_mb: int
    memory_reserved_mb: int
    disk_gb: int
    firmware: str
    cpu_model: str
    reachable: bool = True
    schedulable: bool = True
    state: str = "active"
    cpu_ratio: float = 1.0  # allocation ratios, as a scheduler applies them
    ram_ratio: float = 1.0
    disk_ratio: float = 1.0

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-safe form of the hypervisor."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Hypervisor:
        """Rebuild a hypervisor from to_dict output."""
        return cls(**dict(data))


@dataclass
class VM:
    """One simulated instance and the host it really runs on."""

    name: str
    vcpus: int
    memory_mb: int
    disk_gb: int
    host: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-safe form of the instance."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> VM:
        """Rebuild an instance from to_dict output."""
        return cls(**dict(data))


def _pick(sources: tuple[Mapping[str, Any], ...], key: str, default: Any) -> Any:
    """Return the first value found for key, falling back to default."""
    for source in sources:
        if source.get(key) is not None:
            return source[key]
    return default


def _build(
    name: str,
    cell: int | str | None,
    sources: tuple[Mapping[str, Any], ...],
    *,
    reachable: bool,
    schedulable: bool,
    state: str,
) -> Hypervisor:
    """Assemble a hypervisor from layered settings over the defaults."""
    return Hypervisor(
        name=name,
        cell=cell,
        vcpus=int(_pick(sources, "vcpus", DEFAULT_HOST_FACTS["vcpus"])),
        memory_total_mb=int(
            _pick(sources, "memory_total_mb", DEFAULT_HOST_FACTS["memory_total_mb"])
        ),
        memory_reserved_mb=int(
            _pick(sources, "memory_reserved_mb", DEFAULT_HOST_FACTS["memory_reserved_mb"])
        ),
        disk_gb=int(_pick(sources, "disk_gb", DEFAULT_HOST_FACTS["disk_gb"])),
        firmware=str(_pick(sources, "firmware", DEFAULT_HOST_FACTS["firmware"])),
        cpu_model=str(_pick(sources, "cpu_model", DEFAULT_HOST_FACTS["cpu_model"])),
        reachable=reachable,
        schedulable=bool(_pick(sources, "schedulable", schedulable)),
        state=str(_pick(sources, "state", state)),
        cpu_ratio=float(_pick(sources, "cpu_allocation_ratio", 1.0)),
        ram_ratio=float(_pick(sources, "ram_allocation_ratio", 1.0)),
        disk_ratio=float(_pick(sources, "disk_allocation_ratio", 1.0)),
    )


def hypervisor_from_row(row: Mapping[str, Any], config: SimulatorConfig) -> Hypervisor:
    """Model a ledger host row; facts win over variables, variables over defaults."""
    name = str(row["name"])
    active = bool(row.get("active", True))
    sources = (dict(row.get("facts") or {}), dict(row.get("variables") or {}))
    hypervisor = _build(
        name,
        row.get("cell_id", row.get("cell")),
        sources,
        reachable=active and name not in config.unreachable_hosts,
        schedulable=active,
        state="active" if active else "inactive",
    )
    if not active:
        hypervisor.schedulable = False
    return hypervisor


def hypervisor_from_template(
    name: str, template: Mapping[str, Any] | None, config: SimulatorConfig
) -> Hypervisor:
    """Model a freshly built host; it stays unschedulable until enabled."""
    settings = dict(template or {})
    return _build(
        name,
        settings.get("cell_id", settings.get("cell")),
        (settings,),
        reachable=name not in config.unreachable_hosts,
        schedulable=False,
        state="built",
    )


def vm_from_row(row: Mapping[str, Any], actual_host: str | None) -> VM:
    """Model a ledger instance row placed on the host it really runs on."""
    return VM(
        name=str(row["name"]),
        vcpus=int(row.get("vcpus") or DEFAULT_INSTANCE_SIZE["vcpus"]),
        memory_mb=int(row.get("memory_mb") or DEFAULT_INSTANCE_SIZE["memory_mb"]),
        disk_gb=int(row.get("disk_gb") or DEFAULT_INSTANCE_SIZE["disk_gb"]),
        host=actual_host,
    )
