"""The simulated fleet under concurrent migrations from many threads."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter

from craton.drivers import (
    CapacityExceeded,
    MigrationFailed,
    SimulatorConfig,
    SimulatorDriver,
    VirtualClock,
)

HOSTS = [f"hv-{i}" for i in range(4)]
VMS = [f"vm-{i}" for i in range(24)]


class YieldingClock(VirtualClock):
    """A virtual clock that yields the CPU on every sleep so threads interleave."""

    def sleep(self, seconds: float) -> None:
        """Advance the counter and let other threads run."""
        super().sleep(seconds)
        time.sleep(0.0002)


def crowded_fleet() -> SimulatorDriver:
    """Return four small hosts holding 24 instances, with room for just a few moves."""
    facts = {"memory_total_mb": 16384, "memory_reserved_mb": 0, "vcpus": 8, "disk_gb": 400}
    hosts = [{"name": h, "cell_id": 1, "active": True, "facts": facts} for h in HOSTS]
    instances = [
        {"name": v, "host": HOSTS[i % 3], "vcpus": 1, "memory_mb": 2048, "disk_gb": 10}
        for i, v in enumerate(VMS)
    ]
    config = SimulatorConfig(seed=1, failure_rates={"live_migrate": 0.1})
    return SimulatorDriver.from_inventory(hosts, instances, config, clock=YieldingClock())


def test_concurrent_migrations_respect_capacity_and_keep_every_vm() -> None:
    driver = crowded_fleet()
    outcomes: Counter[str] = Counter()
    violations: list[str] = []
    unexpected: list[BaseException] = []
    stop = threading.Event()
    tally = threading.Lock()

    def migrate(worker: int) -> None:
        pick = random.Random(worker)
        try:
            for _ in range(60):
                name = pick.choice(VMS)
                source = driver.locate(name) or ""
                target = pick.choice(HOSTS)
                try:
                    driver.live_migrate(name, source, target)
                    kind = "ok"
                except CapacityExceeded:
                    kind = "full"
                except MigrationFailed:
                    kind = "failed"
                with tally:
                    outcomes[kind] += 1
        except BaseException as error:
            unexpected.append(error)

    def watch() -> None:
        while not stop.is_set():
            for host in HOSTS:
                facts = driver.gather_facts(host)
                if facts.memory_free_mb < 0 or facts.vcpus_free < 0 or facts.disk_free_gb < 0:
                    violations.append(f"{host}: {facts}")

    watcher = threading.Thread(target=watch)
    workers = [threading.Thread(target=migrate, args=(n,)) for n in range(16)]
    watcher.start()
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    stop.set()
    watcher.join()

    assert not unexpected
    assert not violations
    assert outcomes["ok"] > 50 and outcomes["full"] > 0
    placed = Counter(vm for host in HOSTS for vm in driver.gather_facts(host).running_instances)
    assert sorted(placed) == sorted(VMS)
    assert set(placed.values()) == {1}
    for host in HOSTS:
        facts = driver.gather_facts(host)
        assert facts.memory_used_mb == 2048 * len(facts.running_instances)
        assert facts.memory_used_mb <= facts.memory_total_mb
