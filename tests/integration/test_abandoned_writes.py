"""A save that fails part way dooms its write, even if the caller goes on."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from craton.bootstrap import Services
from craton.db import WriteAbandoned
from craton.projections.tables import LIVE
from craton.proofs import verify_ledger
from tests.conftest import make_fleet


def _events(services: Services) -> int:
    with services.db.reading() as conn:
        return int(conn.execute(select(func.count()).select_from(LIVE.events)).scalar() or 0)


def test_a_caught_failure_after_the_events_are_stored_rolls_the_write_back(
        services: Services) -> None:
    f = make_fleet(services)
    led, meta = services.ledger, f["meta"]
    before = _events(services)

    def fail_after_chaining(conn: Any, recordings: Any, pending: Any) -> None:
        raise RuntimeError("projection failed")

    led.after_save.append(fail_after_chaining)  # runs after the chain's hook
    try:
        with pytest.raises(WriteAbandoned), services.db.writing():
            with pytest.raises(RuntimeError):  # caught: the caller carries on
                led.set_variables(meta, "host", f["host"]["id"], {"lost": True})
    finally:
        led.after_save.remove(fail_after_chaining)
    assert _events(services) == before
    assert verify_ledger(services).ok
    changed = led.set_variables(meta, "host", f["host"]["id"], {"kept": True})
    assert changed["variables"] == {"kept": True}
    assert verify_ledger(services).ok
