"""Several saves in one write extend the hash chain from its true head each time."""

from __future__ import annotations

from craton.bootstrap import Services
from craton.proofs import verify_ledger
from tests.conftest import make_fleet


def test_saves_sharing_a_write_chain_one_after_another(services: Services) -> None:
    f = make_fleet(services)
    led, meta = services.ledger, f["meta"]
    with services.db.writing():  # the first save takes the head read with the lock
        for n in range(3):
            led.set_variables(meta, "host", f["host"]["id"], {"n": n})
        led.register(meta, "host", {"name": "h2", "region_id": f["region"]["id"]})
    led.set_variables(meta, "host", f["host"]["id"], {"after": True})  # a write of its own
    report = verify_ledger(services)
    assert report.ok, report
