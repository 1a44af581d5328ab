"""A failed write and a second thread of the same process, on both databases."""

from __future__ import annotations

import threading
from uuid import UUID

import pytest

from craton.bootstrap import Services
from tests.conftest import make_fleet


def test_no_thread_builds_on_what_a_failed_write_cached(services: Services) -> None:
    f = make_fleet(services)
    led, meta, host = services.ledger, f["meta"], f["host"]
    errors: list[BaseException] = []

    def other_writer() -> None:
        try:
            led.set_variables(meta, "host", host["id"], {"other": 1})
        except BaseException as exc:  # reported below
            errors.append(exc)

    other = threading.Thread(target=other_writer)

    def start_the_other_thread() -> None:
        # Runs while the failed write is being undone: the other writer must not see
        # its state, whether it gets the lock now or after the rollback.
        other.start()
        other.join(timeout=1.0)

    services.db.on_rollback.insert(0, start_the_other_thread)
    try:
        with pytest.raises(RuntimeError):
            with services.db.writing():
                led.set_variables(meta, "host", host["id"], {"a": 1})
                led.set_variables(meta, "host", host["id"], {"b": 2})  # caches version 3
                raise RuntimeError("the rest of the command failed")
    finally:
        services.db.on_rollback.remove(start_the_other_thread)
    other.join(timeout=30)
    assert not errors
    aggregate = led.aggregate(UUID(host["uuid"]))  # loads: versions have no hole
    assert aggregate.variables == {"other": 1}
    assert aggregate.version == 2
