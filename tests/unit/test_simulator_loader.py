"""Loading the simulator through the craton.drivers stevedore namespace."""

from __future__ import annotations

from pathlib import Path

import pytest
import stevedore._cache
from stevedore.extension import ExtensionManager

from craton.drivers import FleetDriver, SimulatorDriver, UnknownDriver, load_driver

ENTRY_POINTS = """\
[craton.drivers]
fixture-simulator = craton.drivers.simulator:SimulatorDriver
fixture-not-a-driver = craton.drivers.clock:VirtualClock
"""


@pytest.fixture(autouse=True)
def fresh_plugin_scan(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make stevedore rescan entry points instead of reusing its process-wide cache."""
    monkeypatch.setattr(ExtensionManager, "ENTRY_POINT_CACHE", {})
    monkeypatch.setattr(stevedore._cache._c, "_dir", str(tmp_path / "cache"))


@pytest.fixture
def registered(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Install a throw-away distribution that registers the simulator."""
    dist = tmp_path / "site" / "craton_fixture-0.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: craton-fixture\nVersion: 0.0\n")
    (dist / "entry_points.txt").write_text(ENTRY_POINTS)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))


def test_missing_driver_raises_a_readable_error() -> None:
    expected = "no fleet driver named 'warp-drive' is installed"
    with pytest.raises(UnknownDriver, match=expected) as caught:
        load_driver("warp-drive")
    assert isinstance(caught.value, ValueError)
    assert "craton.drivers" in str(caught.value)


@pytest.mark.usefixtures("registered")
def test_registered_simulator_is_built_with_the_given_arguments() -> None:
    driver = load_driver(
        "fixture-simulator",
        config={"seed": 3, "unreachable_hosts": ["h2"]},
        hosts=[{"name": h, "cell_id": 1, "active": True} for h in ("h1", "h2")],
    )
    assert isinstance(driver, SimulatorDriver)
    assert isinstance(driver, FleetDriver)
    assert driver.config.seed == 3
    assert driver.gather_facts("h1").reachable


@pytest.mark.usefixtures("registered")
def test_constructor_errors_are_not_mistaken_for_a_missing_driver() -> None:
    with pytest.raises(ValueError, match="unknown simulator settings") as caught:
        load_driver("fixture-simulator", config={"sead": 3})
    assert not isinstance(caught.value, UnknownDriver)


@pytest.mark.usefixtures("registered")
def test_entry_points_that_are_not_drivers_are_refused() -> None:
    with pytest.raises(TypeError, match="not a FleetDriver"):
        load_driver("fixture-not-a-driver")
