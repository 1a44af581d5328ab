"""Evacuations on the simulator: clean, flaky, hopeless, and a host that fails its checks."""

from __future__ import annotations

from collections import Counter

from craton.projections.listing import ListQuery, get_row, list_rows
from craton.projections.timeline import head


def transitions(run, step):
    return [t["state"] for s in run["steps"] if s["name"] == step for t in s["transitions"]]


def test_clean_evacuation_moves_every_instance_and_drains_the_hosts(fleet):
    sources = fleet.hosts[:4]
    before = {i.id for i in fleet.instances_on(sources)}
    run = fleet.run("evacuate", hosts=sources, batch_size=2)
    assert run["state"] == "succeeded", run.get("error")
    assert run["failed_steps"] == [] and run["handovers"] == []
    assert fleet.instances_on(sources) == []
    new_hosts = {s["result"]["host_id"] for s in run["steps"] if s["name"].endswith(".build")}
    assert len(new_hosts) == len(run["targets"]["batches"]) >= 2
    assert {i.id for i in fleet.instances_on(sorted(new_hosts))} == before
    with fleet.svc.db.reading() as conn:
        for host_id in sources:
            row = get_row(conn, "host", host_id, None, None)
            assert row.data["status"] == "drained" and row.data["schedulable"] is False
        for host_id in new_hosts:
            row = get_row(conn, "host", host_id, None, None)
            assert row.data["schedulable"] is True and row.region_id == fleet.region_id


def test_migrations_that_fail_at_first_succeed_on_retry(fleet):
    sources = fleet.hosts[:1]
    names = [i.name for i in fleet.instances_on(sources)]
    run = fleet.run("evacuate", hosts=sources, max_retries=3,
                    driver_config={"flaky_migrations": {names[0]: 2}})
    assert run["state"] == "succeeded"
    assert run["handovers"] == []
    flaky = [f for f in run["failed_steps"]]
    assert len(flaky) == 1 and flaky[0]["recovered"] is True
    step = flaky[0]["step"]
    assert transitions(run, step) == ["RUNNING", "FAILURE", "REVERTING", "REVERTED"] * 2 + [
        "RUNNING", "SUCCESS"]
    assert "RETRYING" in transitions(run, f"{step}.attempts")
    assert fleet.instances_on(sources) == []


def test_exhausted_retries_hand_the_instance_over(fleet):
    sources = fleet.hosts[:1]
    stuck = fleet.instances_on(sources)[0]
    run = fleet.run("evacuate", hosts=sources, max_retries=2,
                    driver_config={"always_failing_migrations": [stuck.name]})
    assert run["state"] == "succeeded"
    assert [h["instance_id"] for h in run["handovers"]] == [stuck.id]
    assert "after 3 attempt(s)" in run["handovers"][0]["reason"]
    assert [i.id for i in fleet.instances_on(sources)] == [stuck.id]
    drain = next(s for s in run["steps"] if s["name"].endswith(".drain"))
    assert drain["result"]["drained"] == []  # the host still holds the handed-over instance


def test_a_host_failing_verification_reverts_only_its_batch(fleet):
    sources = fleet.hosts[:4]
    second = fleet.instances_on(sources[2:])
    with fleet.svc.db.reading() as conn:
        third_name = get_row(conn, "host", sources[2], None, None).name
    run = fleet.run("evacuate", hosts=sources, batch_size=2,
                    driver_config={"failing_verification": [f"{third_name}-evac"]})
    assert run["state"] == "failed"
    assert [f["step"] for f in run["failed_steps"] if not f["recovered"]] == ["batch-2.verify"]
    assert "verification" in run["error"]
    assert transitions(run, "batch-2.quiesce")[-2:] == ["REVERTING", "REVERTED"]
    assert transitions(run, "batch-1.quiesce") == ["RUNNING", "SUCCESS"]
    assert fleet.instances_on(sources[:2]) == []
    assert {i.id for i in fleet.instances_on(sources[2:])} == {i.id for i in second}
    with fleet.svc.db.reading() as conn:
        for host_id in sources[:2]:
            assert get_row(conn, "host", host_id, None, None).data["status"] == "drained"
        for host_id in sources[2:]:
            row = get_row(conn, "host", host_id, None, None).data
            assert row["schedulable"] is True and row["status"] == "in-service"


def test_instances_moved_or_deleted_before_their_batch_are_skipped(fleet):
    sources = fleet.hosts[:2]
    gone, moved = fleet.instances_on(sources)[:2]
    run = fleet.request("evacuate", hosts=sources)
    fleet.svc.ledger.delete(fleet.meta, "instance", gone.id)
    fleet.svc.ledger.place_instance(fleet.meta, moved.id, fleet.hosts[-1])
    from craton.flows import service
    from craton.flows.worker import Worker

    Worker(fleet.svc).run_once()
    run = service.get_run(fleet.svc, run["id"], None)
    assert run["state"] == "succeeded"
    assert sorted(s["instance_id"] for s in run["skipped"]) == sorted([gone.id, moved.id])
    assert run["failed_steps"] == []


def test_as_of_and_the_audit_trail_show_the_evacuation_step_by_step(fleet):
    from craton.flows import service
    from craton.projections.audit import EventQuery, events

    sources = fleet.hosts[:1]
    vm = fleet.instances_on(sources)[0]
    with fleet.svc.db.reading() as conn:
        before = head(conn)
    run = fleet.run("evacuate", hosts=sources)
    with fleet.svc.db.reading() as conn:
        then = get_row(conn, "instance", vm.id, None, before)
        now = get_row(conn, "instance", vm.id, None, None)
        trail, _ = events(conn, EventQuery(run_id=run["uuid"], limit=10_000))
    assert then.host_id == sources[0] and now.host_id != sources[0]
    positions = [e.position for e in trail]
    assert positions == sorted(positions)
    assert trail[0].event_type == "WorkflowRun.Registered"
    assert trail[-1].event_type == "WorkflowRun.Finished"
    assert {e.actor_name for e in trail} == {"alice"}
    assert {e.reason for e in trail} == {"CHG-2001 hardware refresh"}
    types = Counter(e.event_type for e in trail)
    assert types["Instance.Placed"] == len(fleet.instances_on([now.host_id]))
    assert types["Host.Updated"] >= 2 and types["WorkflowRun.StepChanged"] > 10
    steps = service.get_run(fleet.svc, run["id"], None)["steps"]
    done = Counter(t["step"] for t in (
        {"step": s["name"], **t} for s in steps for t in s["transitions"])
        if t["state"] == "SUCCESS")
    assert max(done.values()) == 1


def test_an_instance_placed_on_a_source_after_the_request_is_handed_over(fleet):
    source = fleet.hosts[0]
    run = fleet.request("evacuate", hosts=[source])
    late = fleet.svc.ledger.register(fleet.meta, "instance", {
        "name": "late-vm", "host_id": source, "vcpus": 1, "memory_mb": 512, "disk_gb": 1})
    from craton.flows import service
    from craton.flows.worker import Worker

    assert Worker(fleet.svc).run_once() == run["uuid"]
    run = service.get_run(fleet.svc, run["id"], None)
    assert [(h["step"], h["instance_id"]) for h in run["handovers"]] == [
        ("batch-1.drain", late["id"])]
    assert "late-vm is still on host" in run["handovers"][0]["reason"]
    assert [i.id for i in fleet.instances_on([source])] == [late["id"]]


def test_a_host_with_no_instances_is_drained_without_building_a_host(fleet):
    with fleet.svc.db.reading() as conn:
        beside = get_row(conn, "host", fleet.hosts[0], None, None)
    empty = fleet.svc.ledger.register(fleet.meta, "host", {
        "name": "empty-1", "region_id": beside.region_id, "cell_id": beside.cell_id})
    run = fleet.run("evacuate", hosts=[empty["id"]])
    assert run["state"] == "succeeded", run.get("error")
    assert [s["name"] for s in run["steps"] if not s["name"].endswith(".guard")] == [
        "batch-1.check", "batch-1.quiesce", "batch-1.drain"]
    assert "new_host" not in run["targets"]["batches"][0]
    with fleet.svc.db.reading() as conn:
        assert get_row(conn, "host", empty["id"], None, None).data["status"] == "drained"
        hosts, _ = list_rows(conn, ListQuery(kinds=("host",), limit=1000))
    assert not [h for h in hosts if "-evac-" in h.name]
