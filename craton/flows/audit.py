"""Audit hosts: gather facts, record them, and record where the fleet and ledger differ."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select
from taskflow.patterns import linear_flow

from craton.domain.errors import InvalidInput
from craton.domain.meta import Meta
from craton.drivers.errors import HostUnreachable, UnknownHost
from craton.flows.catalog import Workflow, id_parameter, parameters_schema, target_host_ids
from craton.flows.inventory import facts_to_record, host_summary, hosts_where, instances_on
from craton.flows.runtime import Step
from craton.flows.tasks import FleetTask, step_task
from craton.projections.tables import LIVE

SCHEMA = parameters_schema({
    "hosts": {"type": "array", "items": id_parameter("a host's id"), "minItems": 1,
              "description": "ids of the hosts to audit"},
    "region_id": id_parameter("audit the hosts of a region"),
    "cell_id": id_parameter("audit the hosts of a cell"),
    "label": {"type": "string", "description": "audit the hosts carrying a label"},
})


def _instances_named(step: Step, names: list[str]) -> dict[str, Any]:
    """The current instances of the run's project with these names, by name."""
    if not names:
        return {}
    t = LIVE.resources
    rows = step.conn.execute(select(t).where(
        t.c.kind == "instance", t.c.name.in_(names), t.c.project_id == step.meta.project_id,
        t.c.valid_to.is_(None)).order_by(t.c.id))
    found: dict[str, Any] = {}
    for row in rows:
        found.setdefault(row.name, row)
    return found


def _observe(step: Step, host: dict[str, Any]) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """Facts and findings (keyed) for one host."""
    try:
        facts = step.driver.gather_facts(host["name"]).as_facts()
    except (HostUnreachable, UnknownHost) as exc:
        if not host["active"]:
            return None, {}
        key = f"host-unreachable:{host['id']}"
        return None, {key: {"resource_id": host["id"], "finding_type": "host-unreachable",
                            "detail": {"host_id": host["id"], "error": str(exc)}}}
    findings: dict[str, dict[str, Any]] = {}
    ledger_here = {i.name: i for i in instances_on(step.conn, [host["id"]])}
    running = set(facts["running_instances"])
    unexpected = sorted(running - set(ledger_here))
    elsewhere = _instances_named(step, unexpected)
    for name in unexpected:
        known = elsewhere.get(name)
        if known is None:
            findings[f"instance-unknown:{host['id']}:{name}"] = {
                "resource_id": host["id"], "finding_type": "instance-unknown",
                "detail": {"host_id": host["id"], "instance": name}}
        else:
            findings[f"instance-misplaced:{host['id']}:{name}"] = {
                "resource_id": known.id, "finding_type": "instance-misplaced",
                "detail": {"host_id": host["id"], "instance": name,
                           "ledger_host_id": known.host_id, "observed_host_id": host["id"]}}
    for name in sorted(set(ledger_here) - running):
        findings[f"instance-missing:{host['id']}:{name}"] = {
            "resource_id": ledger_here[name].id, "finding_type": "instance-missing",
            "detail": {"host_id": host["id"], "instance": name}}
    return facts, findings


def _unreachable(key: str) -> bool:
    return key.startswith("host-unreachable:")


class AuditHost(FleetTask):
    """Observe one host, record its facts, open new findings and resolve old ones.

    A host that cannot be reached has not been observed: what was found on it
    before stays open (an inactive host being unreachable is no finding).
    """

    def act(self, step: Step, host: dict[str, Any]) -> dict[str, Any]:
        facts, findings = _observe(step, host)
        if facts is not None:
            step.ledger.record_facts(step.meta, "host", host["id"], facts_to_record(facts))
        t = LIVE.resources
        open_rows = [r for r in step.conn.execute(select(t).where(
            t.c.kind == "finding", t.c.project_id == step.meta.project_id,
            t.c.valid_to.is_(None))) if r.data.get("status") == "open"
            and (r.data.get("detail") or {}).get("host_id") == host["id"]]
        known = {r.data["detail"].get("key"): r for r in open_rows}
        opened, resolved = [], []
        for key, finding in findings.items():
            if key in known:
                continue
            row = step.ledger.register(step.meta, "finding", {
                **finding, "detail": {**finding["detail"], "key": key},
                "status": "open", "run_id": step.run_uuid})
            opened.append(row["id"])
        for key, row in known.items():
            if key not in findings and (facts is not None or _unreachable(key)):
                step.ledger.update(step.meta, "finding", row.id, {
                    "status": "resolved", "resolved_by_run": step.run_uuid})
                resolved.append(row.id)
        return {"host_id": host["id"], "reachable": facts is not None,
                "opened": opened, "resolved": resolved}


def targets(conn: Connection, meta: Meta, parameters: dict[str, Any]) -> dict[str, Any]:
    hosts = hosts_where(conn, meta.project_id, parameters)
    if not hosts:
        raise InvalidInput("no hosts match the selection", {"parameters": ["no hosts"]})
    return {"hosts": [host_summary(h) for h in hosts]}


def build_flow(run_id: str, targets: dict[str, Any]) -> linear_flow.Flow:
    flow = linear_flow.Flow(f"audit-{run_id}")
    for host in targets["hosts"]:
        flow.add(step_task(AuditHost, f"audit-{host['id']}", run_id, host=host))
    return flow


WORKFLOW = Workflow(
    name="audit",
    description=("Gather facts from the selected hosts, record them, and record a finding "
                 "wherever the fleet differs from the ledger (misplaced or unknown "
                 "instances, unreachable hosts); resolve findings no longer observed."),
    schema=SCHEMA, targets=targets, factory=build_flow,
    world=target_host_ids,
)
