"""A scripted fleet history whose report figures the tests know in advance."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from craton.bootstrap import Services
from craton.compliance.access_log import install_access_log, record_denied, record_token_use
from craton.domain import clock
from craton.domain.meta import Meta, system_meta


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment in March 2026 (the 2nd is a Monday)."""
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC)


class Ticker:
    """Stamps successive events one second apart from a starting moment."""

    def __init__(self) -> None:
        self.moment = at(1, 0)

    def set(self, moment: datetime) -> None:
        self.moment = moment

    def __call__(self) -> datetime:
        from datetime import timedelta

        self.moment += timedelta(seconds=1)
        return self.moment


def _step(svc: Services, run_id: int, meta: Meta, step: str, state: str, attempt: int) -> None:
    with svc.db.writing():
        row = svc.ledger._current(run_id)
        run = svc.ledger.repository.get(__import__("uuid").UUID(row["uuid"]))
        run.step_changed(meta.as_dict(), step, state, attempt)
        svc.ledger.save(run)


def _handover(svc: Services, run_id: int, meta: Meta, step: str) -> None:
    with svc.db.writing():
        row = svc.ledger._current(run_id)
        run = svc.ledger.repository.get(__import__("uuid").UUID(row["uuid"]))
        run.handed_over(meta.as_dict(), step, "needs a person")
        svc.ledger.save(run)


def script_history(svc: Services) -> dict[str, Any]:
    """Write the history; return the ids the tests refer to."""
    tick = Ticker()
    led = svc.ledger
    ids: dict[str, Any] = {}
    with clock.using(tick):
        # Mon 2 March, 09:00: the fleet is set up (positions 1-8).
        tick.set(at(2, 9))
        project = led.register(system_meta(), "project", {"name": "acme"})
        pid = str(project["uuid"])
        alice = Meta(actor_id=10, actor_name="alice", source="api", project_id=pid,
                     reason="CHG-1")
        cloud = led.register(alice, "cloud", {"name": "c1"})
        region = led.register(alice, "region", {"name": "r1", "cloud_id": cloud["id"]})
        cell_a = led.register(alice, "cell", {"name": "cell-a", "region_id": region["id"]})
        cell_b = led.register(alice, "cell", {"name": "cell-b", "region_id": region["id"]})
        hosts = [led.register(alice, "host", {"name": name, "region_id": region["id"],
                                              "cell_id": cell["id"]})
                 for name, cell in (("h1", cell_a), ("h2", cell_a), ("h3", cell_b))]
        h1, h2, h3 = (h["id"] for h in hosts)
        # Tue 3 March, 10:00: costs and facts (positions 9-13).
        tick.set(at(3, 10))
        bob = Meta(actor_id=11, actor_name="bob", source="api", project_id=pid)
        led.set_variables(bob, "project", project["id"], {"asset_cost": 1000})
        led.set_variables(Meta(actor_id=11, actor_name="bob", source="cli", project_id=pid,
                               reason="CHG-2"), "host", h3, {"asset_cost": 3000})
        audit = Meta(actor_id=None, actor_name="importer", source="import", project_id=pid,
                     reason="nightly audit")
        led.record_facts(audit, "host", h1, {
            "memory_total_mb": 65536, "memory_reserved_mb": 4096, "memory_used_mb": 30720,
            "vcpus": 32, "vcpus_used": 8})
        led.record_facts(audit, "host", h2, {
            "memory_total_mb": 65536, "memory_reserved_mb": 4096, "vcpus": 32})
        led.record_facts(audit, "host", h3, {
            "memory_total_mb": 131072, "vcpus": 64, "memory_used_mb": 0, "vcpus_used": 0})
        # Thu 5 March, 14:00: two runs and three findings (positions 14-33).
        tick.set(at(5, 14))
        run1 = led.register(alice, "workflow-run", {"workflow": "audit"})
        flow1 = Meta(actor_id=None, actor_name="worker", source="flow", project_id=pid,
                     run_id=run1["uuid"])
        for step, state, attempt in (("collect", "RUNNING", 1), ("collect", "SUCCESS", 1),
                                     ("compare", "RUNNING", 1), ("compare", "FAILURE", 1),
                                     ("compare", "RETRYING", 1), ("compare", "RUNNING", 2),
                                     ("compare", "SUCCESS", 2)):
            _step(svc, run1["id"], flow1, step, state, attempt)
        led.update(flow1, "workflow-run", run1["id"], {"state": "succeeded", "failed_steps": [
            {"step": "compare", "error": "timeout", "attempt": 1, "recovered": True}]})
        run2 = led.register(alice, "workflow-run", {"workflow": "remediate"})
        flow2 = Meta(actor_id=None, actor_name="worker", source="flow", project_id=pid,
                     run_id=run2["uuid"])
        _step(svc, run2["id"], flow2, "drain", "RUNNING", 1)
        _step(svc, run2["id"], flow2, "drain", "FAILURE", 1)
        _handover(svc, run2["id"], flow2, "drain")
        led.update(flow2, "workflow-run", run2["id"], {
            "state": "failed", "failed_steps": ["drain"], "handovers": [{"step": "drain"}]})
        findings = [led.register(flow1, "finding", {"resource_id": rid, "finding_type": kind,
                                                   "run_id": run1["uuid"]})
                    for rid, kind in ((h1, "firmware"), (h2, "missing-label"),
                                      (h3, "firmware"))]
        # Fri 6 March, 09:00: one finding is resolved (position 34).
        tick.set(at(6, 9))
        led.update(flow2, "finding", findings[1]["id"], {"status": "resolved",
                                                         "resolved_by_run": run2["uuid"]})
        # Sat 7 March, 23:30: two instances placed on h2, no reason (positions 35-36).
        tick.set(at(7, 23, 30))
        for name, mem, cpus in (("vm1", 8192, 4), ("vm2", 4096, 2)):
            led.register(bob, "instance", {"name": name, "host_id": h2, "memory_mb": mem,
                                           "vcpus": cpus})
        # Mon 9 March, 08:30: users (positions 37-41).
        tick.set(at(9, 8, 30))
        admin = Meta(actor_id=10, actor_name="alice", source="api", project_id=pid,
                     reason="onboarding")
        carol = led.register(admin, "user", {"name": "carol", "role": "member"},
                             secret="sha256$x$y")
        dave = led.register(admin, "user", {"name": "dave", "role": "auditor"},
                            secret="sha256$x$z")
        led.issue_token(admin, carol["id"], "sha256$x$w")
    install_access_log(svc)
    record_denied(svc, status=401, method="GET", path="/v1/hosts", project_id=pid,
                  reason="wrong credentials", time=at(9, 12))
    record_denied(svc, status=403, method="POST", path="/v1/users", user_id=carol["id"],
                  user_name="carol", project_id=pid, reason="admins only", time=at(9, 13))
    for minute in (1, 2, 3):
        record_token_use(svc, user_id=carol["id"], user_name="carol", project_id=pid,
                         method="GET", path="/v1/hosts", time=at(9, 14, minute))
    ids.update(project=pid, hosts=(h1, h2, h3), cells=(cell_a["id"], cell_b["id"]),
               runs=(run1["id"], run2["id"]), findings=[f["id"] for f in findings],
               users=(carol["id"], dave["id"]))
    return ids
