"""Seeded synthetic fleets for tests and benchmarks."""

from __future__ import annotations

import random
from collections import defaultdict

from craton.planning.model import (
    HostCapacity,
    InstanceDemand,
    InstanceGroup,
    Objective,
    PlanInput,
)

# (vcpus, memory_mb, disk_gb, asset_cost, weight)
HOST_MODELS = [
    (64, 262144, 2000, 1.0, 0.6),
    (96, 393216, 3000, 1.4, 0.25),
    (48, 196608, 1500, 0.9, 0.15),
]
# (vcpus, memory_mb, disk_gb, weight)
FLAVORS = [
    (1, 2048, 20, 0.30),
    (2, 4096, 40, 0.30),
    (4, 8192, 80, 0.20),
    (8, 16384, 160, 0.08),
    (2, 8192, 40, 0.07),
    (4, 16384, 80, 0.03),
    (16, 32768, 200, 0.02),
]


def _hosts(rng: random.Random, count: int, cells: int, flags: float) -> list[HostCapacity]:
    """Hosts in contiguous blocks per cell, a few of them flagged."""
    hosts = []
    for n in range(count):
        vcpus, mem, disk, cost, _ = rng.choices(HOST_MODELS, [m[4] for m in HOST_MODELS])[0]
        roll = rng.random()
        hosts.append(
            HostCapacity(
                id=n + 1,
                name=f"host-{n + 1:05d}",
                cell_id=n * cells // count + 1,
                vcpus=vcpus,
                memory_mb=mem,
                disk_gb=disk,
                cpu_ratio=4.0,
                asset_cost=cost,
                maintenance=roll < flags,
                pinned=flags <= roll < 2 * flags,
                schedulable=not (2 * flags <= roll < 3 * flags),
            )
        )
    return hosts


def generate_fleet(
    hosts: int,
    instances_per_host: float = 20,
    cells: int | None = None,
    seed: int = 0,
    anti_affinity_groups: int | None = None,
    affinity_groups: int | None = None,
    flagged: float = 0.01,
    time_limit_s: float = 30.0,
    objective: Objective | None = None,
) -> PlanInput:
    """Build a valid, loosely packed fleet; cells default to one per 100 hosts."""
    rng = random.Random(seed)
    cells = max(1, hosts // 100) if cells is None else max(1, min(cells, hosts))
    fleet = _hosts(rng, hosts, cells, flagged)
    by_cell: dict[int | None, list[HostCapacity]] = defaultdict(list)
    for h in fleet:
        by_cell[h.cell_id].append(h)
    load = {h.id: [0.0, 0.0, 0.0] for h in fleet}
    on_host: dict[int, list[int]] = defaultdict(list)
    rows: list[list[float]] = []
    homes: list[int] = []
    for _ in range(round(hosts * instances_per_host)):
        vcpus, mem, disk, _w = rng.choices(FLAVORS, [f[3] for f in FLAVORS])[0]
        demand = (float(vcpus), float(mem), float(disk))
        for host in rng.sample(fleet, min(len(fleet), 8)):
            room = [c - u for c, u in zip(host.capacity, load[host.id], strict=False)]
            if all(d <= r for d, r in zip(demand, room, strict=False)):
                load[host.id] = [u + d for u, d in zip(load[host.id], demand, strict=False)]
                on_host[host.id].append(len(rows))
                rows.append(list(demand))
                homes.append(host.id)
                break
    groups: list[InstanceGroup] = []
    member_of: dict[int, int] = {}
    n_anti = max(1, hosts // 10) if anti_affinity_groups is None else anti_affinity_groups
    n_aff = max(1, hosts // 20) if affinity_groups is None else affinity_groups
    cell_ids = sorted(c for c in by_cell if c is not None)
    for g in range(n_anti):
        cell_hosts = by_cell[rng.choice(cell_ids)]
        size = rng.randint(2, max(2, min(5, len(cell_hosts) // 2)))
        chosen = rng.sample(cell_hosts, min(size, len(cell_hosts)))
        picks = [_free(rng, on_host[h.id], member_of) for h in chosen]
        gid = len(groups) + 1
        groups.append(InstanceGroup(gid, f"anti-{g + 1}", "anti-affinity"))
        for idx in picks:
            if idx is not None:
                member_of[idx] = gid
    for g in range(n_aff):
        host = rng.choice(fleet)
        gid = len(groups) + 1
        groups.append(InstanceGroup(gid, f"aff-{g + 1}", "affinity"))
        for _ in range(2):
            idx = _free(rng, on_host[host.id], member_of)
            if idx is not None:
                member_of[idx] = gid
    instances = tuple(
        InstanceDemand(
            id=n + 1,
            name=f"vm-{n + 1:06d}",
            host_id=homes[n],
            vcpus=row[0],
            memory_mb=row[1],
            disk_gb=row[2],
            group_ids=(member_of[n],) if n in member_of else (),
        )
        for n, row in enumerate(rows)
    )
    return PlanInput(
        hosts=tuple(fleet),
        instances=instances,
        groups=tuple(groups),
        objective=objective or Objective(),
        time_limit_s=time_limit_s,
    )


def _free(rng: random.Random, candidates: list[int], taken: dict[int, int]) -> int | None:
    """A random instance of the list that is in no group yet."""
    free = [c for c in candidates if c not in taken]
    return rng.choice(free) if free else None
