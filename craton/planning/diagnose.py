"""Explain in plain words why a fleet admits no valid layout."""

from __future__ import annotations

from collections import Counter, defaultdict

from craton.planning.cells import EPS, Item, build_items, cell_label, fits, host_cell, targets
from craton.planning.model import InfeasiblePlan, PlanInput, Vector


def amount(resource: int, value: float) -> str:
    """Format one resource amount for people."""
    if resource == 0:
        return f"{value:g} vCPUs"
    if resource == 1:
        return f"{value / 1024:g} GB"
    return f"{value:g} GB of disk"


def amount_long(resource: int, value: float) -> str:
    """Format one resource amount, naming the resource."""
    if resource == 0:
        return f"{value:g} vCPUs"
    return f"{amount(resource, value).replace(' of disk', '')} of " + (
        "memory" if resource == 1 else "disk"
    )


def diagnose_fleet(inp: PlanInput) -> None:
    """Raise InfeasiblePlan for conflicts that span cells."""
    cells = host_cell(inp)
    seen: dict[int, set[int | None]] = defaultdict(set)
    for inst in inp.instances:
        for gid in inst.group_ids:
            seen[gid].add(cells.get(inst.host_id))
    for group in inp.groups:
        spread = seen.get(group.id, set())
        if group.policy == "affinity" and len(spread) > 1:
            where = " and ".join(sorted(cell_label(c) for c in spread))
            raise InfeasiblePlan(
                f"affinity group '{group.name}' spans {where}, but instances never leave their cell"
            )


def diagnose_cell(inp: PlanInput, items: list[Item] | None = None) -> None:
    """Raise InfeasiblePlan naming the first hard constraint this cell cannot meet."""
    items = build_items(inp) if items is None else items
    if not inp.hosts:
        return
    cell = cell_label(inp.hosts[0].cell_id)
    names = {g.id: g.name for g in inp.groups}
    inst_name = {i.id: i.name for i in inp.instances}
    group_of = {i.id: i.group_ids for i in inp.instances}
    for h in inp.hosts:
        if h.pinned and h.maintenance and any(i.host_id == h.id for i in inp.instances):
            raise InfeasiblePlan(
                f"host '{h.name}' is both pinned and in maintenance, so its instances "
                "can neither stay nor leave"
            )
    for item in items:
        count = Counter(g for m in item.members for g in group_of[m] if g in item.anti)
        for gid, n in count.items():
            if n > 1:
                both = [inst_name[m] for m in item.members if gid in group_of[m]][:2]
                raise InfeasiblePlan(
                    f"{item.label} must share a host but anti-affinity group "
                    f"'{names[gid]}' forbids '{both[0]}' and '{both[1]}' to share one"
                )
    for h in inp.hosts:
        if not h.pinned:
            continue
        load = [0.0, 0.0, 0.0]
        for i in inp.instances:
            if i.host_id == h.id:
                load = [a + b for a, b in zip(load, i.demand, strict=False)]
        for r in range(3):
            if load[r] > h.capacity[r] + EPS:
                raise InfeasiblePlan(
                    f"pinned host '{h.name}' holds {amount_long(r, load[r])} but offers "
                    f"only {amount_long(r, h.capacity[r])}"
                )
    by_id = {h.id: h for h in inp.hosts}
    open_caps = {h.capacity for h in inp.hosts if h.receives}
    for item in items:
        home = by_id.get(item.home) if item.home is not None else None
        if home is not None and not home.maintenance and fits(item.demand, home.capacity):
            continue
        if (home is None or not home.pinned) and any(fits(item.demand, c) for c in open_caps):
            continue
        hosts = targets(item, list(inp.hosts))
        if not hosts:
            raise InfeasiblePlan(f"{item.label} has no host to go to in {cell}")
        if any(fits(item.demand, h.capacity) for h in hosts):
            continue
        raise InfeasiblePlan(_too_big(item, hosts_caps=[h.capacity for h in hosts], cell=cell))
    _check_anti_affinity(inp, items, cell, names)
    _check_volume(inp, items, cell)


def _too_big(item: Item, hosts_caps: list[Vector], cell: str) -> str:
    """Message for an item that fits on no single host."""
    for r in range(3):
        largest = max(c[r] for c in hosts_caps)
        if item.demand[r] > largest + EPS:
            if len(item.members) > 1:
                return (
                    f"{item.label} needs {amount(r, item.demand[r])}, more than any "
                    f"single host in {cell} offers ({amount(r, largest)})"
                )
            return f"{item.label} ({amount(r, item.demand[r])}) fits on no host of {cell}"
    need = ", ".join(amount(r, item.demand[r]) for r in range(3))
    return f"{item.label} ({need}) fits on no host of {cell}"


def _check_anti_affinity(
    inp: PlanInput, items: list[Item], cell: str, names: dict[int, str]
) -> None:
    """Each anti-affinity group needs as many usable hosts as it has members."""
    usable: dict[int, set[int]] = defaultdict(set)
    size: Counter[int] = Counter()
    for item in items:
        if not item.anti:
            continue
        for gid in item.anti:
            size[gid] += 1
            usable[gid].update(
                h.id for h in targets(item, list(inp.hosts)) if fits(item.demand, h.capacity)
            )
    for gid, n in sorted(size.items()):
        if len(usable[gid]) < n:
            raise InfeasiblePlan(
                f"anti-affinity group '{names[gid]}' has {n} instances but {cell} "
                f"has only {len(usable[gid])} usable hosts"
            )


def _check_volume(inp: PlanInput, items: list[Item], cell: str) -> None:
    """The usable hosts of the cell must offer at least the total demand."""
    usable = [h for h in inp.hosts if h.receives or (h.pinned and not h.maintenance)]
    homes = {i.home for i in items}
    usable += [
        h for h in inp.hosts if not h.receives and not h.pinned and not h.maintenance
        and h.id in homes
    ]
    for r in range(3):
        need = sum(item.demand[r] for item in items)
        offer = sum(h.capacity[r] for h in usable)
        if need > offer + EPS:
            raise InfeasiblePlan(
                f"{cell} needs {amount_long(r, need)} but its usable hosts offer "
                f"only {amount_long(r, offer)}"
            )
