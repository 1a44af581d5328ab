"""Behaviour of the simulated fleet: inventory, capacity, time, scheduling, snapshots."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from craton.drivers import (
    CapacityExceeded,
    HostFacts,
    MigrationFailed,
    ScaledClock,
    SimulatorConfig,
    SimulatorDriver,
    UnknownHost,
    UnknownInstance,
    VirtualClock,
)

GB = 1024


def small_host(name: str, *, memory_gb: int = 64, vcpus: int = 16, cell: int = 1) -> dict[str, Any]:
    """Return a ledger host row with explicit facts."""
    facts = {
        "memory_total_mb": memory_gb * GB,
        "memory_reserved_mb": 0,
        "vcpus": vcpus,
        "disk_gb": 500,
        "firmware": "1.2.3",
        "cpu_model": "AMD EPYC 7543",
    }
    return {"name": name, "cell_id": cell, "active": True, "facts": facts, "variables": {}}


def vm(name: str, host: str | None, *, memory_gb: int = 4, vcpus: int = 2) -> dict[str, Any]:
    """Return a ledger instance row."""
    return {"name": name, "host": host, "vcpus": vcpus, "memory_mb": memory_gb * GB, "disk_gb": 20}


def make(
    config: SimulatorConfig | None = None, clock: VirtualClock | None = None
) -> SimulatorDriver:
    """Return a three-host fleet with a few instances on the first host."""
    hosts = [
        small_host("compute-1"),
        small_host("compute-2"),
        small_host("compute-3", memory_gb=8, vcpus=4),
    ]
    instances = [
        vm("web-1", "compute-1"),
        vm("db-1", "compute-1", memory_gb=16),
        vm("cache-1", "compute-1"),
    ]
    return SimulatorDriver.from_inventory(hosts, instances, config, clock=clock)


def test_from_inventory_uses_recorded_facts() -> None:
    facts = make().gather_facts("compute-1")
    assert isinstance(facts, HostFacts)
    assert facts.memory_total_mb == 64 * GB
    assert facts.vcpus == 16
    assert facts.cpu_model == "AMD EPYC 7543"
    assert facts.running_instances == ("cache-1", "db-1", "web-1")
    assert facts.memory_used_mb == 24 * GB
    assert facts.vcpus_used == 6
    assert facts.disk_used_gb == 60
    assert json.loads(json.dumps(facts.as_facts()))["running_instances"] == [
        "cache-1",
        "db-1",
        "web-1",
    ]


def test_from_inventory_without_facts_uses_defaults() -> None:
    rows = [
        {"name": "bare-1", "cell_id": 2, "active": True},
        {"name": "bare-2", "cell_id": 2, "active": True},
    ]
    driver = SimulatorDriver.from_inventory(rows, [{"name": "vm-a", "host": "bare-1"}])
    first, second = driver.gather_facts("bare-1"), driver.gather_facts("bare-2")
    assert first.memory_total_mb == 256 * GB
    assert first.vcpus == 64
    assert first.disk_gb == 2048
    assert first.schedulable
    assert (first.firmware, first.cpu_model) == (second.firmware, second.cpu_model)
    assert first.running_instances == ("vm-a",)
    assert first.memory_used_mb == 4096


def test_variables_fill_in_where_facts_are_missing() -> None:
    row = {
        "name": "h",
        "cell_id": 1,
        "active": True,
        "facts": {"vcpus": 8},
        "variables": {"vcpus": 99, "firmware": "9.9"},
    }
    facts = SimulatorDriver.from_inventory([row], []).gather_facts("h")
    assert facts.vcpus == 8
    assert facts.firmware == "9.9"


def test_instances_on_unknown_hosts_are_rejected() -> None:
    with pytest.raises(UnknownHost, match="nowhere"):
        SimulatorDriver.from_inventory([small_host("compute-1")], [vm("x", "nowhere")])


def test_migration_moves_the_instance_and_its_usage() -> None:
    driver = make()
    result = driver.live_migrate("web-1", "compute-1", "compute-2")
    assert result.ok and result.error is None
    assert driver.locate("web-1") == "compute-2"
    assert driver.gather_facts("compute-2").running_instances == ("web-1",)
    assert "web-1" not in driver.gather_facts("compute-1").running_instances
    assert driver.gather_facts("compute-1").memory_used_mb == 20 * GB


def test_migrating_to_the_current_host_is_a_no_op_success() -> None:
    clock = VirtualClock()
    driver = make(clock=clock)
    driver.live_migrate("web-1", "compute-1", "compute-2")
    again = driver.live_migrate("web-1", "compute-1", "compute-2")
    assert again.ok and again.seconds == 0
    assert driver.locate("web-1") == "compute-2"
    assert clock.now() == pytest.approx(4.0)


def test_migration_from_the_wrong_source_is_refused() -> None:
    driver = make()
    with pytest.raises(MigrationFailed, match="runs on 'compute-1'"):
        driver.live_migrate("web-1", "compute-2", "compute-3")
    assert driver.locate("web-1") == "compute-1"


def test_capacity_is_enforced_on_the_target() -> None:
    driver = make()
    with pytest.raises(CapacityExceeded) as caught:
        driver.live_migrate("db-1", "compute-1", "compute-3")
    assert caught.value.resource == "MB of memory"
    assert caught.value.requested == 16 * GB and caught.value.available == 8 * GB
    assert "compute-3" in str(caught.value)
    assert driver.locate("db-1") == "compute-1"
    assert driver.gather_facts("compute-3").running_instances == ()


def test_capacity_counts_vcpus_and_allows_an_exact_fit() -> None:
    driver = make()
    driver.live_migrate("web-1", "compute-1", "compute-3")
    driver.live_migrate("cache-1", "compute-1", "compute-3")
    facts = driver.gather_facts("compute-3")
    assert facts.memory_free_mb == 0 and facts.vcpus_free == 0
    driver.live_migrate("web-1", "compute-3", "compute-2")
    with pytest.raises(CapacityExceeded, match="vCPUs"):
        SimulatorDriver.from_inventory(
            [small_host("a"), small_host("b", vcpus=1)], [vm("big", "a", vcpus=2)]
        ).live_migrate("big", "a", "b")


def test_migration_time_is_proportional_to_memory() -> None:
    clock = VirtualClock()
    driver = make(SimulatorConfig(bandwidth_mb_s=512), clock)
    small = driver.live_migrate("web-1", "compute-1", "compute-2")
    large = driver.live_migrate("db-1", "compute-1", "compute-2")
    assert small.seconds == pytest.approx(4 * GB / 512)
    assert large.seconds == pytest.approx(4 * small.seconds)
    assert clock.now() == pytest.approx(small.seconds + large.seconds)


def test_scheduling_toggles_are_idempotent_and_guard_migrations() -> None:
    driver = make()
    driver.disable_scheduling("compute-2")
    driver.disable_scheduling("compute-2")
    assert not driver.gather_facts("compute-2").schedulable
    with pytest.raises(MigrationFailed, match="does not accept new instances"):
        driver.live_migrate("web-1", "compute-1", "compute-2")
    assert driver.locate("web-1") == "compute-1"
    driver.enable_scheduling("compute-2")
    driver.enable_scheduling("compute-2")
    assert driver.gather_facts("compute-2").schedulable
    assert driver.live_migrate("web-1", "compute-1", "compute-2").ok


def test_build_host_is_idempotent_and_starts_unschedulable() -> None:
    clock = VirtualClock()
    driver = make(SimulatorConfig(build_seconds=100), clock)
    built = driver.build_host("compute-9", {"cell_id": 4, "vcpus": 32, "memory_total_mb": 128 * GB})
    assert built.vcpus == 32 and not built.schedulable
    assert driver.build_host("compute-9", {"vcpus": 2}).vcpus == 32
    assert clock.now() == 100
    driver.verify_host("compute-9")
    driver.enable_scheduling("compute-9")
    assert driver.live_migrate("db-1", "compute-1", "compute-9").ok


def test_mark_host_records_the_state() -> None:
    driver = make()
    driver.mark_host("compute-1", "maintenance")
    assert driver.host_state("compute-1") == "maintenance"
    with pytest.raises(ValueError):
        driver.mark_host("compute-1", "")


def test_unknown_names_raise_readable_errors() -> None:
    driver = make()
    with pytest.raises(UnknownHost, match="no host named 'ghost'"):
        driver.gather_facts("ghost")
    with pytest.raises(UnknownInstance, match="no instance named 'ghost-vm'"):
        driver.locate("ghost-vm")


def test_misplaced_instances_show_up_where_they_really_run() -> None:
    config = SimulatorConfig(misplaced_instances={"web-1": "compute-2", "stray-1": "compute-3"})
    driver = make(config)
    assert driver.locate("web-1") == "compute-2"
    assert "web-1" not in driver.gather_facts("compute-1").running_instances
    assert driver.gather_facts("compute-2").running_instances == ("web-1",)
    assert driver.gather_facts("compute-3").running_instances == ("stray-1",)
    with pytest.raises(MigrationFailed, match="runs on 'compute-2'"):
        driver.live_migrate("web-1", "compute-1", "compute-3")


def test_snapshot_round_trip_rebuilds_the_same_world() -> None:
    config = SimulatorConfig(
        seed=7, flaky_migrations={"db-1": 2}, misplaced_instances={"cache-1": "compute-2"}
    )
    driver = make(config)
    driver.live_migrate("web-1", "compute-1", "compute-2")
    driver.disable_scheduling("compute-3")
    driver.mark_host("compute-3", "drained")
    with pytest.raises(MigrationFailed):
        driver.live_migrate("db-1", "compute-1", "compute-2")
    text = driver.to_json()
    rebuilt = SimulatorDriver.from_json(text)
    assert rebuilt.snapshot() == driver.snapshot()
    assert json.loads(text) == driver.snapshot()
    assert rebuilt.config == config
    assert rebuilt.locate("cache-1") == "compute-2"
    assert rebuilt.host_state("compute-3") == "drained"
    for world in (driver, rebuilt):
        with pytest.raises(MigrationFailed):
            world.live_migrate("db-1", "compute-1", "compute-2")
        assert world.live_migrate("db-1", "compute-1", "compute-2").ok
    fresh = make()
    fresh.restore(driver.snapshot())
    assert fresh.snapshot() == driver.snapshot()


def test_restore_rejects_foreign_snapshots() -> None:
    with pytest.raises(ValueError, match="format"):
        make().restore({"format": 99})


def test_time_scale_selects_a_real_time_clock() -> None:
    driver = make(SimulatorConfig(time_scale=0.01, bandwidth_mb_s=1024))
    assert isinstance(driver.clock, ScaledClock)
    started = time.monotonic()
    assert driver.live_migrate("db-1", "compute-1", "compute-2").seconds == 16
    assert time.monotonic() - started >= 0.15
    assert isinstance(make().clock, VirtualClock) and not isinstance(make().clock, ScaledClock)


def test_allocation_ratios_from_variables_raise_capacity() -> None:
    strict = small_host("b", vcpus=1)
    overcommitted = {**small_host("c", vcpus=1),
                     "variables": {"cpu_allocation_ratio": 4.0}}
    driver = SimulatorDriver.from_inventory(
        [small_host("a"), strict, overcommitted], [vm("big", "a", vcpus=2)])
    with pytest.raises(CapacityExceeded, match="vCPUs"):
        driver.live_migrate("big", "a", "b")
    assert driver.live_migrate("big", "a", "c").ok
    assert driver.gather_facts("c").vcpus == 1  # facts stay physical
