"""A seeded demo fleet with a few weeks of history, so a newcomer sees something real."""

from __future__ import annotations

import ipaddress
import random
from datetime import UTC, datetime, timedelta
from typing import Any

from craton.application import Ledger
from craton.domain import clock
from craton.domain.errors import Conflict
from craton.domain.meta import Meta, system_meta
from craton.progress import Progress
from craton.projections.timeline import head

OPERATORS = ("alice", "bob", "carol")
REASONS = ("CHG-1042 quarterly refresh", "INC-311 disk alarms", None, "capacity review")


class _Clock:
    """Moves forward a little with every event, from ``start``."""

    def __init__(self, start: datetime):
        self.at = start

    def __call__(self) -> datetime:
        self.at += timedelta(seconds=1)
        return self.at

    def jump(self, **delta: float) -> None:
        self.at += timedelta(**delta)

    def reach(self, moment: datetime) -> None:
        """On to ``moment``, unless already past it (the clock never goes back)."""
        self.at = max(self.at, moment)


def _host_address(region: int, cell: int, host: int) -> str:
    """The host's address: 4,096 per cell from 10.<region>.<16 * cell>.10, distinct for
    up to 16 cells a region and 4,086 hosts a cell (wrapping within 10.0.0.0/8 beyond)."""
    offset = ((region * 16 + cell) * 4096 + host + 10) % (1 << 24)
    return str(ipaddress.IPv4Address((10 << 24) + offset))


def load_demo(ledger: Ledger, *, seed: int = 7, regions: int = 3, cells: int = 2,
              hosts_per_cell: int = 40, instances_per_host: int = 4, days: int = 21,
              show_progress: bool | None = None) -> dict[str, Any]:
    """Register a demo fleet and then ``days`` of day-to-day changes; returns a summary.

    Into an empty ledger only (Conflict otherwise): its history is stamped weeks
    back, and recorded after real events it would be a past that arrived late."""
    rng = random.Random(seed)
    # (each day of history starts a day after the one before and takes less than a
    # day, so the last one ends before today: nothing is stamped in the future)
    tick = _Clock(datetime.now(UTC) - timedelta(days=days + 2))
    bar = Progress("demo fleet", None, enabled=show_progress)
    with clock.using(tick), ledger.db.writing() as session:
        recorded = head(session.connection())  # (under the write lock: no one writes now)
        if recorded:
            raise Conflict(f"the ledger already holds {recorded:,} event"
                           f"{'' if recorded == 1 else 's'}: the demo fleet, "
                           "weeks of backdated history, loads into an empty database only")
        project = ledger.register(system_meta("demo fleet"), "project", {"name": "demo"},
                                  variables={"owner": "cloud-ops", "ntp_server": "ntp.demo"})
        meta = _meta(project["uuid"], "alice", "initial import", source="import")
        cloud = ledger.register(meta, "cloud", {"name": "demo-cloud"}, variables={
            "cpu_allocation_ratio": 4.0, "ram_allocation_ratio": 1.0, "asset_cost": 100})
        spread = [ledger.register(meta, "instance-group", {
            "name": f"spread-{n}", "policy": "anti-affinity"}) for n in range(6)]
        hosts: list[dict[str, Any]] = []
        for r in range(regions):
            region = ledger.register(meta, "region", {
                "name": f"region-{r + 1}", "cloud_id": cloud["id"]},
                variables={"dns_server": f"10.{r}.0.2", "zone": f"z{r + 1}"})
            for c in range(cells):
                cell = ledger.register(meta, "cell", {
                    "name": f"cell-{r + 1}{chr(97 + c)}", "region_id": region["id"]},
                    variables={"rack_row": c + 1})
                for d in range(2):
                    ledger.register(meta, "network-device", {
                        "name": f"sw-{r + 1}{chr(97 + c)}-{d}", "region_id": region["id"],
                        "cell_id": cell["id"], "device_type": "switch",
                        "model_name": "QFX5120", "os_version": "21.4", "vlans": [10, 20]},
                        labels=["tor"])
                for h in range(hosts_per_cell):
                    host = ledger.register(meta, "host", {
                        "name": f"cmp-{r + 1}{chr(97 + c)}-{h:03d}",
                        "region_id": region["id"], "cell_id": cell["id"],
                        "ip_address": _host_address(r, c, h), "device_type": "server"},
                        variables={"role": "compute"},
                        labels=rng.sample(["gpu", "ssd", "gen9", "gen10", "canary"], 2))
                    ledger.record_facts(meta, "host", host["id"], _facts(rng))
                    hosts.append(host)
                    bar.advance()
        instances = []
        together = {h["id"]: ledger.register(meta, "instance-group", {
            "name": f"together-{h['name']}", "policy": "affinity"})
            for h in rng.sample(hosts, 6)}
        members: dict[int, set[int]] = {g["id"]: set() for g in spread}
        for host in hosts:
            for i in range(rng.randint(0, instances_per_host * 2)):
                group = None
                if host["id"] in together and i < 2:
                    group = together[host["id"]]
                elif rng.random() < 0.1:
                    group = rng.choice(spread)
                    if host["id"] in members[group["id"]]:  # one member per host
                        group = None
                    else:
                        members[group["id"]].add(host["id"])
                instances.append(ledger.register(meta, "instance", {
                    "name": f"vm-{host['name'][4:]}-{i}", "host_id": host["id"],
                    "vcpus": rng.choice([1, 2, 4, 8]),
                    "memory_mb": rng.choice([1024, 2048, 4096, 8192, 16384]),
                    "disk_gb": rng.choice([10, 20, 40, 80]), "flavor": "m1",
                    "group_ids": [group["id"]] if group else []}))
                bar.advance()
        _history(ledger, rng, tick, project["uuid"], hosts, instances, days, bar)
    bar.finish()
    return {"project": project, "hosts": len(hosts), "instances": len(instances)}


def _meta(project_id: str, actor: str, reason: str | None, source: str = "api") -> Meta:
    return Meta(actor_id=None, actor_name=actor, source=source, project_id=project_id,
                reason=reason)


def _facts(rng: random.Random) -> dict[str, Any]:
    memory = rng.choice([262144, 393216, 524288])
    return {"memory_total_mb": memory, "memory_reserved_mb": 8192,
            "memory_used_mb": rng.randint(memory // 10, memory // 2),
            "vcpus": rng.choice([48, 64, 96]), "vcpus_used": rng.randint(4, 40),
            "disk_gb": 1920, "cpu_model": rng.choice(["EPYC 7543", "Xeon 6338"]),
            "firmware": rng.choice(["2.14.1", "2.15.0"])}


def _history(ledger: Ledger, rng: random.Random, tick: _Clock, project_id: str,
             hosts: list[dict[str, Any]], instances: list[dict[str, Any]], days: int,
             bar: Progress) -> None:
    """Day-to-day operations: variables, labels, facts, moves, retirements."""
    cell_of = {h["id"]: h["fields"]["cell_id"] for h in hosts}
    vm_cell = {vm["id"]: cell_of[vm["fields"]["host_id"]] for vm in instances}
    first = tick.at
    for day in range(days):
        tick.reach(first + timedelta(days=day + 1))
        for _ in range(rng.randint(8, 16)):
            meta = _meta(project_id, rng.choice(OPERATORS), rng.choice(REASONS))
            host = rng.choice(hosts)
            action = rng.random()
            if action < 0.35:
                ledger.set_variables(meta, "host", host["id"], {
                    "kernel": rng.choice(["6.1.0-18", "6.1.0-21", "6.6.8"])})
            elif action < 0.55:
                ledger.add_labels(meta, "host", host["id"], [rng.choice(["canary", "drain"])])
            elif action < 0.75:
                ledger.record_facts(meta, "host", host["id"], {
                    "firmware": rng.choice(["2.15.0", "2.16.2"])})
            elif action < 0.9 and instances:
                vm = rng.choice(instances)  # a move within its cell: live migration
                if not vm["fields"].get("group_ids"):
                    cell = vm_cell[vm["id"]]
                    target = rng.choice([h for h in hosts if h["fields"]["cell_id"] == cell])
                    ledger.place_instance(meta, vm["id"], target["id"])
            elif instances:
                vm = instances.pop(rng.randrange(len(instances)))
                ledger.delete(meta, "instance", vm["id"])
            bar.advance()
            tick.jump(minutes=rng.randint(5, 90))
