"""The unused-capacity report after instances move: the ledger's placements outrank
use facts measured before the move."""

from __future__ import annotations

from typing import Any

from craton.bootstrap import Services
from craton.reports import load_reports, run_report
from tests.conftest import make_fleet

MEASURED = {"memory_total_mb": 65536, "vcpus": 32, "memory_used_mb": 8192, "vcpus_used": 4}


def _hosts(svc: Services) -> dict[str, dict[str, Any]]:
    with svc.db.reading() as conn:
        data = run_report(conn, load_reports()["unused-capacity"])
    table = next(t for t in data.tables if t.name == "hosts")
    return {row[1]: dict(zip(table.columns, row, strict=True)) for row in table.rows}


def test_a_host_emptied_after_its_last_audit_is_empty(memory_services: Services) -> None:
    f = make_fleet(memory_services)
    led, meta, first = memory_services.ledger, f["meta"], f["host"]
    second = led.register(meta, "host", {"name": "host-2", "region_id": f["region"]["id"],
                                         "cell_id": f["cell"]["id"]})
    vm = led.register(meta, "instance", {"name": "vm", "host_id": first["id"],
                                         "memory_mb": 8192, "vcpus": 4})
    for host in (first, second):
        led.record_facts(meta, "host", host["id"], MEASURED if host is first else {
            **MEASURED, "memory_used_mb": 0, "vcpus_used": 0})
    before = _hosts(memory_services)
    assert before["host-1"]["usage_source"] == "facts" and not before["host-1"]["empty"]
    led.place_instance(meta, vm["id"], second["id"])
    after = _hosts(memory_services)
    assert after["host-1"]["empty"] and after["host-1"]["usage_source"] == "instances"
    assert after["host-2"]["memory_used_mb"] == 8192 and after["host-2"]["instances"] == 1
    led.record_facts(meta, "host", first["id"], {**MEASURED, "memory_used_mb": 512})
    assert _hosts(memory_services)["host-1"]["memory_used_mb"] == 512  # measured since


def test_an_instance_changed_but_not_moved_leaves_the_facts_trusted(
        memory_services: Services) -> None:
    f = make_fleet(memory_services)
    led, meta, host = memory_services.ledger, f["meta"], f["host"]
    vm = led.register(meta, "instance", {"name": "vm", "host_id": host["id"],
                                         "memory_mb": 1024, "vcpus": 1})
    led.record_facts(meta, "host", host["id"], MEASURED)
    led.update(meta, "instance", vm["id"], {"name": "vm-renamed"})
    shown = _hosts(memory_services)["host-1"]
    assert shown["usage_source"] == "facts" and shown["memory_used_mb"] == 8192
    led.delete(meta, "instance", vm["id"])  # a deletion is a move off the host
    assert _hosts(memory_services)["host-1"]["usage_source"] == "instances"
