"""Requesting, validating, cancelling runs; audits and plans on the simulator."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from craton.domain.errors import InvalidInput
from craton.domain.inventory import AGGREGATES
from craton.domain.resource import Resource
from craton.flows import service
from craton.flows.worker import Worker
from craton.projections.listing import ListQuery, list_rows
from tests.flows.conftest import Fleet


def test_every_workflow_is_listed_with_its_parameter_schema(fleet):
    flows = {w["name"]: w for w in service.list_workflows()}
    assert set(flows) == {"audit", "evacuate", "execute-plan"}
    assert "batch_size" in flows["evacuate"]["parameters"]["properties"]
    assert flows["execute-plan"]["parameters"]["required"] == ["plan_id"]


def test_a_request_with_bad_parameters_lists_every_problem(fleet):
    with pytest.raises(InvalidInput) as caught:
        fleet.request("evacuate", batch_size=0, colour="red")
    assert set(caught.value.errors) == {"parameters", "batch_size"}
    with pytest.raises(InvalidInput) as caught:
        fleet.request("evacuate", hosts=[fleet.hosts[0], 99_999])
    assert caught.value.errors == {"hosts": ["no host with id 99999"]}
    with pytest.raises(InvalidInput):
        fleet.request("reboot-everything")


def test_a_run_naming_a_driver_not_installed_is_refused_when_requested(fleet):
    with pytest.raises(InvalidInput) as refused:
        fleet.request("audit", hosts=fleet.hosts[:1], driver="nosuch")
    assert refused.value.errors == {
        "driver": ["no fleet driver named 'nosuch' is installed (installed: simulator)"]}
    assert service.list_runs(fleet.svc, fleet.project)[0] == []


def test_a_requested_run_waits_for_a_worker(fleet):
    run = fleet.request("audit", hosts=fleet.hosts[:1])
    assert run["state"] == "requested" and run["targets"]["hosts"][0]["id"] == fleet.hosts[0]
    shown = service.get_run(fleet.svc, run["id"], fleet.project)
    assert shown["steps"] == [] and shown["state"] == "requested"


def test_a_run_cancelled_before_a_worker_takes_it_never_starts(fleet):
    run = fleet.request("evacuate", hosts=fleet.hosts[:1])
    assert service.cancel_run(fleet.svc, fleet.meta, run["id"])["state"] == "cancelled"
    assert Worker(fleet.svc).run_once() is None
    assert fleet.instances_on(fleet.hosts[:1])


def test_a_running_run_that_is_cancelled_stops_at_its_next_step(fleet):
    run = fleet.request("evacuate", hosts=fleet.hosts[:4], batch_size=1)
    placed = {h: [i.id for i in fleet.instances_on([h])] for h in fleet.hosts[:4]}
    assert any(placed.values())
    worker = Worker(fleet.svc)
    assert worker.claim() == run["uuid"]
    assert service.cancel_run(fleet.svc, fleet.meta, run["id"])["state"] == "running"
    worker.execute(run["uuid"])
    done = service.get_run(fleet.svc, run["id"], None)
    assert done["state"] == "cancelled" and done["cancel_requested"] is True
    assert len(done["steps"]) < 3
    assert {h: [i.id for i in fleet.instances_on([h])] for h in fleet.hosts[:4]} == placed


def test_an_audit_records_facts_and_findings_and_resolves_them_later(fleet):
    hosts = fleet.hosts[:3]
    vm = fleet.instances_on([hosts[0]])[0]
    with fleet.svc.db.reading() as conn:
        from craton.projections.listing import get_row

        names = {h: get_row(conn, "host", h, None, None).name for h in hosts}
    run = fleet.run("audit", hosts=hosts, driver_config={
        "unreachable_hosts": [names[hosts[2]]], "misplaced_instances": {vm.name: names[hosts[1]]},
    })
    assert run["state"] == "succeeded", run.get("error")
    findings = _findings(fleet)
    kinds = sorted((f.data["finding_type"], f.data["detail"]["host_id"]) for f in findings)
    assert ("host-unreachable", hosts[2]) in kinds
    assert ("instance-misplaced", hosts[1]) in kinds
    assert ("instance-missing", hosts[0]) in kinds
    assert all(f.data["run_id"] == run["uuid"] for f in findings)
    from craton.projections.tables import LIVE
    from craton.projections.variables import values_of

    with fleet.svc.db.reading() as conn:
        facts = values_of(conn, LIVE.facts, [hosts[1]], None)[hosts[1]]
    assert vm.name in facts["running_instances"]
    again = fleet.run("audit", hosts=hosts)
    assert again["state"] == "succeeded"
    assert [f for f in _findings(fleet) if f.data["status"] == "open"] == []


def _findings(fleet):
    with fleet.svc.db.reading() as conn:
        rows, _ = list_rows(conn, ListQuery(kinds=("finding",), limit=1000))
    return rows


class Plan(Resource):
    """Stands in for the planner's aggregate where it is not registered yet."""

    KIND = "plan"


def test_executing_a_plan_carries_out_its_moves(fleet):
    AGGREGATES.setdefault("plan", Plan)
    vms = fleet.instances_on(fleet.hosts[:1])[:3]
    target = fleet.hosts[1]
    for vm in vms:  # small enough to fit on the target whatever else it runs
        fleet.svc.ledger.update(fleet.meta, "instance", vm.id,
                                {"vcpus": 1, "memory_mb": 512, "disk_gb": 1})
    plan = fleet.svc.ledger.register(fleet.meta, "plan", {
        "planner": "greedy", "moves": [
            {"instance_id": v.id, "from_host_id": fleet.hosts[0], "to_host_id": target}
            for v in vms]})
    run = fleet.run("execute-plan", plan_id=plan["id"], batch_size=2)
    assert run["state"] == "succeeded", run.get("error")
    assert run["plan_id"] == plan["id"]
    assert {v.id for v in vms} <= {i.id for i in fleet.instances_on([target])}, (
        run["handovers"], run.get("skipped"), run.get("failed_steps"))


def test_a_runs_version_and_update_time_move_with_each_step(fleet):
    from uuid import UUID

    from craton.domain import clock
    from craton.projections.lookup import CurrentLookup
    from craton.projections.timeline import iso

    run = fleet.request("audit", hosts=fleet.hosts[:1])
    aggregate = fleet.svc.ledger.aggregate(UUID(run["uuid"]))
    later = datetime(2031, 1, 1, tzinfo=UTC)
    with clock.using(lambda: later):
        assert aggregate.change_step(fleet.meta.as_dict(), "gather", "RUNNING")
        fleet.svc.ledger.save(aggregate)
    shown = service.get_run(fleet.svc, run["id"], fleet.project)
    assert shown["updated_at"] == iso(later) != run["updated_at"]
    with fleet.svc.db.reading() as conn:
        row = CurrentLookup(conn).current(run["id"])
    assert row is not None and row["version"] == aggregate.version == 2


def test_following_a_run_no_worker_takes_says_so_once(services, capsys):
    import threading

    from craton.flows.cli import follow

    fleet = Fleet(services)
    run = fleet.request("audit", hosts=fleet.hosts[:1])
    threading.Timer(1.0, lambda: service.cancel_run(services, fleet.meta, run["id"])).start()
    assert follow(services, run["id"], poll=0.05, hint_after=0.0) == 1  # cancelled
    err = capsys.readouterr().err
    assert err.count(f"run {run['id']} is waiting for a worker") == 1


def test_a_run_cancelled_while_running_stops_on_a_database_of_its_own(services):
    # (a file or a server: suspending the engine must not wait on the record's own lock)
    fleet = Fleet(services)
    run = fleet.request("evacuate", hosts=fleet.hosts[:4], batch_size=1)
    worker = Worker(services)
    assert worker.claim() == run["uuid"]
    assert service.cancel_run(services, fleet.meta, run["id"])["state"] == "running"
    worker.execute(run["uuid"])
    done = service.get_run(services, run["id"], None)
    assert done["state"] == "cancelled" and len(done["steps"]) < 3


def _wait_for_step(services, run_id, name, state):
    import time

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        steps = service.get_run(services, run_id, None)["steps"]
        if any(s["name"] == name and s["state"] == state for s in steps):
            return
        time.sleep(0.02)
    pytest.fail(f"step {name} never reached {state}")


def test_a_batch_a_cancel_stops_part_way_is_handed_over(services):
    import threading

    from craton.projections.listing import get_row

    fleet = Fleet(services)
    sources = fleet.hosts[:2]
    run = fleet.request("evacuate", hosts=sources, driver_config={
        "time_scale": 0.005, "build_seconds": 600})
    worker = Worker(services)
    assert worker.claim() == run["uuid"]
    executing = threading.Thread(target=worker.execute, args=(run["uuid"],))
    executing.start()
    try:
        _wait_for_step(services, run["id"], "batch-1.build", "RUNNING")
        assert service.cancel_run(services, fleet.meta, run["id"])["state"] == "running"
    finally:
        executing.join(60)
    done = service.get_run(services, run["id"], None)
    assert done["state"] == "cancelled"
    built = next(s for s in done["steps"] if s["name"] == "batch-1.build")["result"]
    assert "batch-1.verify" not in {s["name"] for s in done["steps"]}
    assert [(h["step"], h["instance_id"]) for h in done["handovers"]] == [
        ("batch-1.quiesce", sources[0]), ("batch-1.quiesce", sources[1]),
        ("batch-1.build", built["host_id"])]
    assert "stays quiesced" in done["handovers"][0]["reason"]
    assert "built but not verified" in done["handovers"][2]["reason"]
    with services.db.reading() as conn:
        for host_id in sources:
            assert get_row(conn, "host", host_id, None, None).data["schedulable"] is False
