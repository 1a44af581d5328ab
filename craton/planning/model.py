"""Inputs and results of consolidation planning."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

RESOURCES: tuple[str, str, str] = ("vCPUs", "MB of memory", "GB of disk")
POLICIES: frozenset[str] = frozenset(
    {"affinity", "anti-affinity", "soft-affinity", "soft-anti-affinity"}
)
STATUSES: frozenset[str] = frozenset({"optimal", "feasible", "time_limit", "infeasible"})

Vector = tuple[float, float, float]


@dataclass(frozen=True)
class HostCapacity:
    """A hypervisor host with raw capacity, allocation ratios and planning flags."""

    id: int
    name: str
    cell_id: int | None
    vcpus: float
    memory_mb: float
    disk_gb: float
    cpu_ratio: float = 1.0
    ram_ratio: float = 1.0
    disk_ratio: float = 1.0
    asset_cost: float = 1.0
    active: bool = True
    schedulable: bool = True
    pinned: bool = False
    maintenance: bool = False

    @property
    def effective_vcpus(self) -> float:
        """Schedulable vCPUs after the CPU allocation ratio."""
        return self.vcpus * self.cpu_ratio

    @property
    def effective_memory_mb(self) -> float:
        """Schedulable memory after the RAM allocation ratio."""
        return self.memory_mb * self.ram_ratio

    @property
    def effective_disk_gb(self) -> float:
        """Schedulable disk after the disk allocation ratio."""
        return self.disk_gb * self.disk_ratio

    @property
    def capacity(self) -> Vector:
        """Effective capacity as (vcpus, memory_mb, disk_gb)."""
        return (self.effective_vcpus, self.effective_memory_mb, self.effective_disk_gb)

    @property
    def receives(self) -> bool:
        """Whether the host may receive instances it does not hold yet."""
        return self.active and self.schedulable and not self.pinned and not self.maintenance


@dataclass(frozen=True)
class InstanceDemand:
    """An instance, the host it runs on now and the resources it claims."""

    id: int
    name: str
    host_id: int
    vcpus: float
    memory_mb: float
    disk_gb: float
    group_ids: tuple[int, ...] = ()

    @property
    def demand(self) -> Vector:
        """Claimed resources as (vcpus, memory_mb, disk_gb)."""
        return (self.vcpus, self.memory_mb, self.disk_gb)


@dataclass(frozen=True)
class InstanceGroup:
    """A server group with its placement policy."""

    id: int
    name: str
    policy: str

    def __post_init__(self) -> None:
        """Reject unknown policies."""
        if self.policy not in POLICIES:
            raise PlanningError(f"group '{self.name}' has unknown policy '{self.policy}'")


@dataclass(frozen=True)
class Objective:
    """Weights of the plan objective: host cost first, then moves, then soft policies."""

    host_weight: float = 1.0
    move_weight: float = 0.001
    moves_by: Literal["count", "memory"] = "count"
    soft_penalty: float = 0.0005

    def move_cost(self, instance: InstanceDemand) -> float:
        """Weighted cost of moving one instance."""
        unit = 1.0 if self.moves_by == "count" else instance.memory_mb / 1024.0
        return self.move_weight * unit


@dataclass(frozen=True)
class PlanInput:
    """Everything a planner needs: hosts, instances, groups and the objective."""

    hosts: tuple[HostCapacity, ...]
    instances: tuple[InstanceDemand, ...]
    groups: tuple[InstanceGroup, ...] = ()
    objective: Objective = field(default_factory=Objective)
    time_limit_s: float = 30.0
    mip_gap: float = 0.01

    def current_layout(self) -> dict[int, int]:
        """Map instance id to the host it runs on now."""
        return {i.id: i.host_id for i in self.instances}


@dataclass(frozen=True)
class Move:
    """One live migration of an instance between two hosts."""

    instance_id: int
    from_host_id: int
    to_host_id: int


@dataclass
class PlanResult:
    """Outcome of a planner: the moves, the hosts they free and solver figures."""

    status: str
    moves: list[Move]
    hosts_used: list[int]
    hosts_freed: list[int]
    freed_asset_cost: float
    objective: float
    bound: float
    gap: float
    solve_time_s: float
    planner: str
    notes: list[str] = field(default_factory=list)
    current: dict[int, int] = field(default_factory=dict, repr=False)

    def layout(self) -> dict[int, int]:
        """Map instance id to its host once the moves are applied."""
        placed = dict(self.current)
        for move in self.moves:
            placed[move.instance_id] = move.to_host_id
        return placed


class PlanningError(ValueError):
    """Raised when a plan cannot be made from the given input."""


class InfeasiblePlan(PlanningError):
    """Raised when no layout satisfies the hard constraints; the message says which."""
