"""Find a fleet driver by name among the installed ``craton.drivers`` plugins."""

from __future__ import annotations

from typing import Any

from stevedore.driver import DriverManager
from stevedore.exception import NoMatches
from stevedore.extension import ExtensionManager

from craton.drivers.base import FleetDriver

__all__ = ["NAMESPACE", "UnknownDriver", "driver_class", "installed_drivers", "load_driver"]

NAMESPACE = "craton.drivers"


class UnknownDriver(ValueError):
    """No installed plugin provides the requested fleet driver."""

    def __init__(self, name: str) -> None:
        """Name the missing driver and where it should have been registered."""
        super().__init__(
            f"no fleet driver named {name!r} is installed; register it as an entry point "
            f"in the {NAMESPACE!r} group (for example "
            f"'simulator = craton.drivers.simulator:SimulatorDriver')"
        )
        self.name = name


def installed_drivers() -> list[str]:
    """The names of the fleet drivers installed here, sorted."""
    manager: ExtensionManager[Any] = ExtensionManager(namespace=NAMESPACE,
                                                      invoke_on_load=False)
    return sorted(manager.names())


def driver_class(name: str) -> type[FleetDriver] | None:
    """The driver plugin's class if it is installed here (None if it is not), without
    building a driver."""
    try:
        manager: DriverManager[Any] = DriverManager(
            namespace=NAMESPACE, name=name, invoke_on_load=False,
            on_missing_entrypoints_callback=None)
    except (NoMatches, RuntimeError):
        return None
    found = manager.driver
    return found if isinstance(found, type) and issubclass(found, FleetDriver) else None


def load_driver(name: str, **kwargs: Any) -> FleetDriver:
    """Instantiate the driver registered under name, passing kwargs to it."""
    try:
        manager: DriverManager[FleetDriver] = DriverManager(
            namespace=NAMESPACE,
            name=name,
            invoke_on_load=True,
            invoke_kwds=kwargs,
            on_missing_entrypoints_callback=None,
        )
    except NoMatches:
        raise UnknownDriver(name) from None
    driver = manager.driver
    if not isinstance(driver, FleetDriver):
        raise TypeError(
            f"the {name!r} entry point in {NAMESPACE!r} produced {type(driver).__name__}, "
            "which is not a FleetDriver"
        )
    return driver
