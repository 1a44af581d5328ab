"""A revert that cannot re-enable scheduling hands the quiesced host to a person."""

from __future__ import annotations

from craton.projections.listing import get_row


def test_a_host_left_quiesced_by_a_failed_revert_is_handed_over(fleet):
    source = fleet.hosts[0]
    with fleet.svc.db.reading() as conn:
        name = get_row(conn, "host", source, None, None).name
    run = fleet.run("evacuate", hosts=[source], driver_config={
        "failing_verification": [name], "failure_rates": {"enable_scheduling": 1.0}})
    assert run["state"] == "failed"
    assert [h["instance_id"] for h in run["handovers"]] == [source]
    assert "re-enabling scheduling failed" in run["handovers"][0]["reason"]
    assert run["handovers"][0]["step"] == "batch-1.quiesce"
    with fleet.svc.db.reading() as conn:
        assert get_row(conn, "host", source, None, None).data["schedulable"] is False


def test_a_revert_that_re_enables_scheduling_hands_nothing_over(fleet):
    source = fleet.hosts[0]
    with fleet.svc.db.reading() as conn:
        name = get_row(conn, "host", source, None, None).name
    run = fleet.run("evacuate", hosts=[source],
                    driver_config={"failing_verification": [f"{name}-evac"]})
    assert run["state"] == "failed" and run["handovers"] == []
    with fleet.svc.db.reading() as conn:
        assert get_row(conn, "host", source, None, None).data["schedulable"] is True
