"""Seeded fault injection in the simulated fleet: determinism, flaky and failing operations."""

from __future__ import annotations

from typing import Any

import pytest

from craton.drivers import (
    DriverError,
    HostUnreachable,
    MigrationFailed,
    SimulatorConfig,
    SimulatorDriver,
    VerificationFailed,
    VirtualClock,
)

RATES = {"live_migrate": 0.4, "gather_facts": 0.3, "verify_host": 0.3, "mark_host": 0.3}


def fleet(config: SimulatorConfig, clock: VirtualClock | None = None) -> SimulatorDriver:
    """Return a fleet of six roomy hosts with twelve instances on the first three."""
    hosts = [{"name": f"node-{i}", "cell_id": 1, "active": True} for i in range(6)]
    instances = [
        {"name": f"vm-{i}", "host": f"node-{i % 3}", "memory_mb": 2048 * (1 + i % 4)}
        for i in range(12)
    ]
    return SimulatorDriver.from_inventory(hosts, instances, config, clock=clock)


def outcome(call: Any, *args: str) -> str:
    """Run one driver call and describe what happened."""
    try:
        return repr(call(*args))
    except DriverError as error:
        return f"{type(error).__name__}: {error}"


def script(driver: SimulatorDriver) -> list[str]:
    """Drive a fixed sequence of calls with retries; return every outcome."""
    seen = []
    for round_ in range(4):
        for i in range(12):
            source = driver.locate(f"vm-{i}") or ""
            target = f"node-{3 + (i + round_) % 3}"
            seen.append(outcome(driver.live_migrate, f"vm-{i}", source, target))
        for n in range(6):
            seen.append(outcome(driver.gather_facts, f"node-{n}"))
            seen.append(outcome(driver.verify_host, f"node-{n}"))
            seen.append(outcome(driver.mark_host, f"node-{n}", "checked"))
    return seen


def test_same_config_and_calls_give_the_same_results() -> None:
    first = script(fleet(SimulatorConfig(seed=11, failure_rates=RATES)))
    second = script(fleet(SimulatorConfig(seed=11, failure_rates=RATES)))
    assert first == second
    assert any("Failed" in o or "Unreachable" in o or "DriverError" in o for o in first)
    assert any(o.startswith("MigrationResult") for o in first)
    assert script(fleet(SimulatorConfig(seed=12, failure_rates=RATES))) != first


def test_fault_outcomes_do_not_depend_on_how_calls_interleave() -> None:
    config = SimulatorConfig(seed=3, failure_rates={"live_migrate": 0.5})
    forward, backward = fleet(config), fleet(config)
    order = [f"vm-{i}" for i in range(12)]
    ahead = {
        name: outcome(forward.live_migrate, name, forward.locate(name) or "", "node-5")
        for name in order
    }
    behind = {
        name: outcome(backward.live_migrate, name, backward.locate(name) or "", "node-5")
        for name in reversed(order)
    }
    assert ahead == behind


def test_flaky_migration_fails_the_configured_number_of_times_then_succeeds() -> None:
    driver = fleet(SimulatorConfig(flaky_migrations={"vm-0": 3}))
    for attempt in range(1, 4):
        with pytest.raises(MigrationFailed, match=f"attempt {attempt} of 3") as caught:
            driver.live_migrate("vm-0", "node-0", "node-4")
        assert caught.value.retryable
        assert driver.locate("vm-0") == "node-0"
    assert driver.live_migrate("vm-0", "node-0", "node-4").ok
    assert driver.locate("vm-0") == "node-4"
    assert driver.live_migrate("vm-3", "node-0", "node-4").ok


def test_always_failing_migration_never_succeeds() -> None:
    driver = fleet(SimulatorConfig(always_failing_migrations={"vm-1"}))
    for _ in range(25):
        with pytest.raises(MigrationFailed, match="vm-1"):
            driver.live_migrate("vm-1", "node-1", "node-5")
    assert driver.locate("vm-1") == "node-1"
    assert "vm-1" not in driver.gather_facts("node-5").running_instances


def test_failed_migration_takes_time_but_releases_its_claim() -> None:
    clock = VirtualClock()
    driver = fleet(SimulatorConfig(always_failing_migrations={"vm-1"}), clock)
    with pytest.raises(MigrationFailed):
        driver.live_migrate("vm-1", "node-1", "node-5")
    assert driver.gather_facts("node-5").memory_used_mb == 0
    assert clock.now() == pytest.approx(2048 * 2 / 1024 / 2)


def test_verification_fails_for_configured_names_and_prefixes() -> None:
    driver = fleet(SimulatorConfig(failing_verification={"node-2", "rack9-"}))
    driver.verify_host("node-1")
    with pytest.raises(VerificationFailed, match="'node-2' failed verification"):
        driver.verify_host("node-2")
    driver.build_host("rack9-a", None)
    with pytest.raises(VerificationFailed, match="rack9-a"):
        driver.verify_host("rack9-a")


def test_unreachable_hosts_cannot_be_observed_or_used() -> None:
    hosts = [
        {"name": "up", "cell_id": 1, "active": True},
        {"name": "down", "cell_id": 1, "active": True},
        {"name": "retired", "cell_id": 1, "active": False},
    ]
    driver = SimulatorDriver.from_inventory(
        hosts, [{"name": "v", "host": "up"}], SimulatorConfig(unreachable_hosts={"down"})
    )
    assert driver.gather_facts("up").reachable
    for host in ("down", "retired"):
        with pytest.raises(HostUnreachable, match=f"host '{host}' is unreachable") as caught:
            driver.gather_facts(host)
        assert caught.value.host == host
        with pytest.raises(MigrationFailed, match="target host is unreachable"):
            driver.live_migrate("v", "up", host)
        with pytest.raises(VerificationFailed, match="does not answer"):
            driver.verify_host(host)
    driver.disable_scheduling("down")
    driver.mark_host("down", "maintenance")
    assert driver.host_state("down") == "maintenance"


def test_invalid_settings_are_rejected_with_a_reason() -> None:
    with pytest.raises(ValueError, match="unknown operations"):
        SimulatorConfig(failure_rates={"live_migrat": 0.5})
    with pytest.raises(ValueError, match="between 0 and 1"):
        SimulatorConfig(failure_rates={"live_migrate": 2})
    with pytest.raises(ValueError, match="unknown simulator settings"):
        SimulatorConfig.from_dict({"sead": 1})
    config = SimulatorConfig(
        seed=5, unreachable_hosts={"b", "a"}, failure_rates={"build_host": 0.1}
    )
    assert SimulatorConfig.from_dict(config.to_dict()) == config
