"""A consolidation plan on the demo fleet, executed as a run, frees the hosts it promised."""

from __future__ import annotations

from craton.flows import service
from craton.flows.worker import Worker
from craton.planning.service import compute_plan, execute_plan
from craton.projections import audit, listing, timeline


def test_an_executed_plan_frees_its_hosts_and_leaves_a_trail(fleet) -> None:
    svc = fleet.svc
    plan = compute_plan(svc, fleet.meta, planner_name="milp", time_limit_s=20)
    promised = plan["fields"]["hosts_freed"]
    moves = plan["fields"]["moves"]
    assert promised and moves
    with svc.db.reading() as conn:
        before = timeline.head(conn)
    run = execute_plan(svc, fleet.meta, plan["id"])
    assert Worker(svc).run_once() == run["uuid"]
    done = service.get_run(svc, run["id"], fleet.project)
    assert done["state"] == "succeeded", done.get("error")
    assert done["handovers"] == []

    freed = [h["id"] for h in promised]
    assert fleet.instances_on(freed) == []
    with svc.db.reading() as conn:
        for move in moves:
            then = listing.get_row(conn, "instance", move["instance_id"], None, before)
            now = listing.get_row(conn, "instance", move["instance_id"], None, None)
            assert (then.host_id, now.host_id) == (move["from_host_id"], move["to_host_id"])
        trail, _ = audit.events(conn, audit.EventQuery(run_id=run["uuid"], limit=10_000))
    placed = [e.resource_id for e in trail if e.event_type == "Instance.Placed"]
    assert sorted(placed) == sorted(m["instance_id"] for m in moves)
    positions = [e.position for e in trail]
    assert positions == sorted(positions)
    assert {e.actor_name for e in trail} == {"alice"}
