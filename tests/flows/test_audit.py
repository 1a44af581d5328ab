"""Audits: a host that cannot be reached has not been observed, so its findings stay open."""

from __future__ import annotations

from typing import Any

from craton.projections.listing import ListQuery, get_row, list_rows


def open_findings(fleet: Any) -> dict[tuple[str, int], int]:
    """(finding type, host) -> id of each open finding."""
    with fleet.svc.db.reading() as conn:
        rows, _ = list_rows(conn, ListQuery(kinds=("finding",), limit=1000))
    return {(r.data["finding_type"], r.data["detail"]["host_id"]): r.id for r in rows
            if r.data["status"] == "open"}


def test_a_host_that_cannot_be_reached_keeps_its_findings_open(fleet):
    ledger_host, observed_host = fleet.hosts[:2]
    vm = fleet.instances_on([ledger_host])[0]
    with fleet.svc.db.reading() as conn:
        observed = get_row(conn, "host", observed_host, None, None).name
    misplaced = {"misplaced_instances": {vm.name: observed}}
    fleet.run("audit", hosts=[ledger_host, observed_host], driver_config=misplaced)
    first = open_findings(fleet)
    assert ("instance-misplaced", observed_host) in first

    run = fleet.run("audit", hosts=[ledger_host, observed_host], driver_config={
        **misplaced, "unreachable_hosts": [observed]})
    step = next(s for s in run["steps"] if s["name"] == f"audit-{observed_host}")
    assert step["result"]["reachable"] is False and step["result"]["resolved"] == []
    second = open_findings(fleet)
    assert second.items() >= first.items()  # the same findings, their age kept
    assert ("host-unreachable", observed_host) in second

    fleet.run("audit", hosts=[ledger_host, observed_host], driver_config=misplaced)
    third = open_findings(fleet)
    assert ("host-unreachable", observed_host) not in third
    assert third == first


def test_an_inactive_host_that_cannot_be_reached_keeps_its_findings_open(fleet):
    host = fleet.hosts[0]
    vm = fleet.instances_on([host])[0]
    with fleet.svc.db.reading() as conn:
        name = get_row(conn, "host", host, None, None).name
    fleet.run("audit", hosts=[host], driver_config={"misplaced_instances": {vm.name: None}})
    before = open_findings(fleet)
    assert ("instance-missing", host) in before
    fleet.svc.ledger.update(fleet.meta, "host", host, {"active": False})
    fleet.run("audit", hosts=[host], driver_config={"unreachable_hosts": [name]})
    assert open_findings(fleet) == before
