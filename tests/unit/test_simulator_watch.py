"""Watching the live migrations the simulator begins, while they are under way."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from craton.drivers import MigrationFailed, SimulatorConfig, SimulatorDriver, VirtualClock
from craton.drivers.simulator import MigrationStarted, watch_migrations


class GatedClock(VirtualClock):
    """A virtual clock whose sleeps wait until the gate opens, holding work mid-way."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()

    def sleep(self, seconds: float) -> None:
        assert self.gate.wait(30), "the gate was never opened"
        super().sleep(seconds)


def small_fleet(clock: VirtualClock, **config: Any) -> SimulatorDriver:
    hosts = [{"name": h, "cell_id": 1, "active": True} for h in ("hv-a", "hv-b", "hv-c")]
    instances = [{"name": "vm-1", "host": "hv-a", "memory_mb": 4096}]
    return SimulatorDriver.from_inventory(hosts, instances, SimulatorConfig(**config),
                                          clock=clock)


def test_a_watch_is_told_of_a_migration_while_the_instance_is_being_copied() -> None:
    clock = GatedClock()
    driver = small_fleet(clock)
    with watch_migrations() as migrations:
        copy = threading.Thread(target=driver.live_migrate, args=("vm-1", "hv-a", "hv-b"))
        copy.start()
        try:
            started = migrations.wait_for("vm-1", timeout=30)
            assert started == MigrationStarted("vm-1", "hv-a", "hv-b")
            assert driver.locate("vm-1") == "hv-a"  # not copied yet
            assert driver.gather_facts("hv-b").memory_used_mb == 4096  # room claimed
        finally:
            clock.gate.set()
            copy.join()
    assert driver.locate("vm-1") == "hv-b"
    assert migrations.started == [started]


def test_waiting_for_a_migration_that_has_begun_returns_at_once() -> None:
    driver = small_fleet(VirtualClock())
    with watch_migrations() as migrations:
        driver.live_migrate("vm-1", "hv-a", "hv-b")
        assert migrations.wait_for("vm-1", timeout=0) == ("vm-1", "hv-a", "hv-b")


def test_waiting_for_a_migration_that_never_begins_gives_none_after_the_timeout() -> None:
    driver = small_fleet(VirtualClock())
    with watch_migrations() as migrations:
        driver.live_migrate("vm-1", "hv-a", "hv-b")
        assert migrations.wait_for("vm-2", timeout=0.01) is None


def test_refused_and_already_finished_migrations_are_not_told() -> None:
    driver = small_fleet(VirtualClock())
    with watch_migrations() as migrations:
        with pytest.raises(MigrationFailed, match="runs on 'hv-a'"):
            driver.live_migrate("vm-1", "hv-b", "hv-c")  # not on that source
        driver.live_migrate("vm-1", "hv-a", "hv-b")
        driver.live_migrate("vm-1", "hv-a", "hv-b")  # already there: nothing to copy
    assert migrations.started == [("vm-1", "hv-a", "hv-b")]


def test_a_migration_that_fails_part_way_was_still_begun() -> None:
    driver = small_fleet(VirtualClock(), always_failing_migrations={"vm-1"})
    with watch_migrations() as migrations, pytest.raises(MigrationFailed):
        driver.live_migrate("vm-1", "hv-a", "hv-b")
    assert migrations.started == [("vm-1", "hv-a", "hv-b")]


def test_a_watch_sees_only_what_begins_while_it_is_open() -> None:
    driver = small_fleet(VirtualClock())
    driver.live_migrate("vm-1", "hv-a", "hv-b")
    with watch_migrations() as first, watch_migrations() as second:
        driver.live_migrate("vm-1", "hv-b", "hv-a")
    driver.live_migrate("vm-1", "hv-a", "hv-b")
    assert first.started == second.started == [("vm-1", "hv-b", "hv-a")]


def test_a_world_rebuilt_from_its_snapshot_is_watched_too() -> None:
    rebuilt = SimulatorDriver.from_json(small_fleet(VirtualClock()).to_json(),
                                        clock=VirtualClock())
    with watch_migrations() as migrations:
        rebuilt.live_migrate("vm-1", "hv-a", "hv-b")
    assert migrations.wait_for("vm-1", timeout=0) is not None
