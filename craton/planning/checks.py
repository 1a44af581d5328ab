"""Independent check of a layout against every hard placement constraint."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping

from craton.planning.model import RESOURCES, PlanInput

TOLERANCE = 1e-6


def violations(inp: PlanInput, layout: Mapping[int, int]) -> list[str]:
    """List every hard constraint the layout (instance id -> host id) breaks."""
    found: list[str] = []
    hosts = {h.id: h for h in inp.hosts}
    before = inp.current_layout()
    for inst in inp.instances:
        if inst.id not in layout:
            found.append(f"instance '{inst.name}' has no host")
        elif layout[inst.id] not in hosts:
            found.append(f"instance '{inst.name}' is on unknown host {layout[inst.id]}")
    for iid in layout:
        if iid not in before:
            found.append(f"layout places unknown instance {iid}")
    placed = [i for i in inp.instances if layout.get(i.id) in hosts]
    load: dict[int, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])
    for inst in placed:
        acc = load[layout[inst.id]]
        for r, d in enumerate(inst.demand):
            acc[r] += d
    for hid, used in sorted(load.items()):
        host = hosts[hid]
        for r, cap in enumerate(host.capacity):
            if used[r] > cap + TOLERANCE:
                found.append(
                    f"host '{host.name}' is over capacity: {used[r]:g} of {cap:g} {RESOURCES[r]}"
                )
    for inst in placed:
        host = hosts[layout[inst.id]]
        origin = hosts.get(inst.host_id)
        moved = host.id != inst.host_id
        if origin is not None and host.cell_id != origin.cell_id:
            found.append(f"instance '{inst.name}' left its cell for host '{host.name}'")
        if host.maintenance:
            found.append(f"instance '{inst.name}' stays on maintenance host '{host.name}'")
        if origin is not None and origin.pinned and moved:
            found.append(f"instance '{inst.name}' left pinned host '{origin.name}'")
        if moved and host.pinned:
            found.append(f"instance '{inst.name}' was moved onto pinned host '{host.name}'")
        if moved and not (host.active and host.schedulable):
            found.append(
                f"instance '{inst.name}' was moved onto host '{host.name}', "
                "which takes no new instances"
            )
    found.extend(_group_violations(inp, layout))
    return found


def _group_violations(inp: PlanInput, layout: Mapping[int, int]) -> list[str]:
    """Affinity and anti-affinity breaches."""
    found: list[str] = []
    members: dict[int, list[int]] = defaultdict(list)
    for inst in inp.instances:
        for gid in inst.group_ids:
            if inst.id in layout:
                members[gid].append(layout[inst.id])
    for group in inp.groups:
        where = members.get(group.id, [])
        if group.policy == "affinity" and len(set(where)) > 1:
            found.append(f"affinity group '{group.name}' is split over {len(set(where))} hosts")
        if group.policy == "anti-affinity":
            doubled = sorted(h for h, n in Counter(where).items() if n > 1)
            for hid in doubled:
                found.append(f"anti-affinity group '{group.name}' shares host {hid}")
    return found


def soft_breaches(inp: PlanInput, layout: Mapping[int, int]) -> int:
    """Count soft-policy breaches: extra hosts of soft-affinity, doubles of soft-anti-affinity."""
    members: dict[int, list[int]] = defaultdict(list)
    for inst in inp.instances:
        for gid in inst.group_ids:
            members[gid].append(layout.get(inst.id, inst.host_id))
    total = 0
    for group in inp.groups:
        where = members.get(group.id, [])
        if not where:
            continue
        if group.policy == "soft-affinity":
            total += len(set(where)) - 1
        elif group.policy == "soft-anti-affinity":
            total += len(where) - len(set(where))
    return total
