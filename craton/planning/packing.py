"""Mutable packing state of one cell: which item sits on which host, and the load."""

from __future__ import annotations

from collections import Counter
from functools import cached_property

from craton.planning.cells import EPS, Item, fits, targets
from craton.planning.model import HostCapacity, InfeasiblePlan


class Packing:
    """Items placed on hosts with load and anti-affinity bookkeeping."""

    def __init__(self, hosts: list[HostCapacity], items: list[Item]) -> None:
        """Start with nothing placed."""
        self.hosts = {h.id: h for h in hosts}
        self.items = items
        self.receives = {h.id for h in hosts if h.receives}
        self.caps = {h.id: h.capacity for h in hosts}
        pinned = {h.id for h in hosts if h.pinned}
        self.stays = [item.home in pinned for item in items]
        self.where: dict[int, int] = {}
        self.load = {h.id: [0.0, 0.0, 0.0] for h in hosts}
        self.anti: dict[int, Counter[int]] = {h.id: Counter() for h in hosts}
        self.content: dict[int, set[int]] = {h.id: set() for h in hosts}

    @cached_property
    def allowed(self) -> list[set[int]]:
        """Per item, the hosts it may end up on when they are empty."""
        hosts = list(self.hosts.values())
        return [
            {h.id for h in targets(item, hosts) if fits(item.demand, h.capacity)}
            for item in self.items
        ]

    def can(self, idx: int, hid: int) -> bool:
        """Whether item idx may be added to host hid now."""
        item = self.items[idx]
        if (self.stays[idx] or hid not in self.receives) and (
            hid != item.home or self.hosts[hid].maintenance
        ):
            return False
        d, u, c = item.demand, self.load[hid], self.caps[hid]
        if d[0] + u[0] > c[0] + EPS or d[1] + u[1] > c[1] + EPS or d[2] + u[2] > c[2] + EPS:
            return False
        if item.anti:
            here = self.anti[hid]
            return not any(here[g] for g in item.anti)
        return True

    def put(self, idx: int, hid: int) -> None:
        """Place item idx on host hid."""
        item = self.items[idx]
        self.where[idx] = hid
        self.content[hid].add(idx)
        self.load[hid] = [u + d for u, d in zip(self.load[hid], item.demand, strict=False)]
        self.anti[hid].update(item.anti)

    def take(self, idx: int) -> int:
        """Remove item idx from its host and return that host."""
        item = self.items[idx]
        hid = self.where.pop(idx)
        self.content[hid].discard(idx)
        self.load[hid] = [u - d for u, d in zip(self.load[hid], item.demand, strict=False)]
        self.anti[hid].subtract(item.anti)
        return hid

    def over(self, hid: int) -> bool:
        """Whether a host holds more than it offers."""
        cap = self.caps[hid]
        return any(u > c + EPS for u, c in zip(self.load[hid], cap, strict=False))

    def fill(self, hid: int) -> float:
        """Largest fraction of any resource in use on a host."""
        cap = self.caps[hid]
        return max((u / c if c > EPS else 0.0) for u, c in zip(self.load[hid], cap, strict=False))

    def first_fit(self, idx: int, order: list[int]) -> int | None:
        """Put item idx on the first host of order that takes it."""
        for hid in order:
            if self.can(idx, hid):
                self.put(idx, hid)
                return hid
        return None

    def settle_homes(self) -> list[int]:
        """Place items at home where allowed; return the items that must move."""
        pending = []
        for idx, item in enumerate(self.items):
            home = item.home
            if home is not None and home in self.hosts and self._may_stay(idx, home):
                self.put(idx, home)
            else:
                pending.append(idx)
        for hid, host in self.hosts.items():
            evicted = self._repair(hid)
            if evicted and host.pinned:
                raise InfeasiblePlan(
                    f"pinned host '{host.name}' breaks a capacity or anti-affinity rule "
                    "and none of its instances may leave"
                )
            pending.extend(evicted)
        return pending

    def _may_stay(self, idx: int, hid: int) -> bool:
        """Whether an item may remain on its home host (load is checked later)."""
        host = self.hosts[hid]
        return not host.maintenance and fits(self.items[idx].demand, host.capacity)

    def _repair(self, hid: int) -> list[int]:
        """Evict items until a host respects capacity and anti-affinity."""
        evicted = []
        seen: set[int] = set()
        for idx in sorted(self.content[hid], key=lambda i: -self.items[i].size):
            if self.items[idx].anti & seen:
                self.take(idx)
                evicted.append(idx)
            else:
                seen |= self.items[idx].anti
        for idx in sorted(self.content[hid], key=lambda i: -self.items[i].size):
            if not self.over(hid):
                break
            self.take(idx)
            evicted.append(idx)
        return evicted

    def layout(self) -> dict[int, int]:
        """Map every placed instance to its host."""
        return {m: hid for idx, hid in self.where.items() for m in self.items[idx].members}
