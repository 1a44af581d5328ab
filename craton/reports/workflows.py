"""Report ``workflow-outcomes``: runs, failed steps, retries and hand-overs to people."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, select

from craton.projections.tables import LIVE
from craton.reports.base import BaseReport, Cell, ReportData, Table, Window
from craton.reports.figures import counted_table, top_chart, when
from craton.reports.queries import batches, resources_at

FAILED = {"FAILURE", "FAILED", "REVERT_FAILURE"}


@dataclass
class StepTally:
    """What one step of one run went through."""

    runs: int = 0
    attempts: int = 0
    last_state: str = ""
    failed: bool = False  # the step's last transition was a failure
    states: list[str] = field(default_factory=list)

    @property
    def is_retry_controller(self) -> bool:
        """A retry atom: retrying although it had succeeded itself.

        Such an atom only decides that its subflow runs again; the subflow's own
        steps record the retried work, so counting the atom too counts it twice.
        """
        return any(before == "SUCCESS" and state == "RETRYING"
                   for before, state in zip(self.states, self.states[1:], strict=False))

    @property
    def retries(self) -> int:
        """How many times the step was tried again (none for a retry controller)."""
        if self.is_retry_controller:
            return 0
        return max(self.attempts - 1, self.runs - 1, 0)


def _steps(conn: Connection, uuids: list[str], until: int
           ) -> tuple[dict[str, dict[str, StepTally]], Counter[str]]:
    """Per run uuid, the tally of each step; and the hand-over events per run."""
    e = LIVE.events
    steps: dict[str, dict[str, StepTally]] = defaultdict(dict)
    handovers: Counter[str] = Counter()
    for batch in batches(uuids):
        rows = conn.execute(select(e.c.uuid, e.c.event_type, e.c.changes).where(
            e.c.kind == "workflow-run", e.c.uuid.in_(batch),
            e.c.position <= until).order_by(e.c.position))
        for uuid, event_type, changes in rows:
            if str(event_type).endswith(".HandedOver"):
                handovers[uuid] += 1
            detail = (changes or {}).get("detail") or {}
            if "step" not in detail:
                continue
            tally = steps[uuid].setdefault(str(detail["step"]), StepTally())
            state = str(detail.get("state") or "").upper()
            tally.states.append(state)
            tally.last_state = state or tally.last_state
            tally.runs += state == "RUNNING"
            attempt = detail.get("attempt")
            if isinstance(attempt, int):
                tally.attempts = max(tally.attempts, attempt)
            tally.failed = state in FAILED if state else tally.failed
    return steps, handovers


class WorkflowOutcomes(BaseReport):
    """Runs requested in the window, how they ended, and what needed a person."""

    name = "workflow-outcomes"
    title = "Workflow outcomes"
    description = "Runs, failed steps, retries and hand-overs to manual remediation."

    def compute(self, conn: Connection, window: Window, project_id: str | None, *,
                hidden_kinds: tuple[str, ...] = ()) -> ReportData:
        runs = [r for r in resources_at(conn, "workflow-run", window.until, project_id,
                                           stamped=True)
                if r.id > window.after]
        steps, handed = _steps(conn, [r.uuid for r in runs], window.until)
        run_rows: list[list[Cell]] = []
        failed_rows: list[list[Cell]] = []
        per_flow: dict[str, Counter[str]] = defaultdict(Counter)
        states: Counter[str] = Counter()
        for run in runs:
            d: dict[str, Any] = run.data
            tallies = steps.get(run.uuid, {})
            failed = {s for s, t in tallies.items() if t.failed} | {
                str(s.get("step")) if isinstance(s, dict) else str(s)
                for s in d.get("failed_steps") or []
                if not (isinstance(s, dict) and s.get("recovered"))}
            retries = sum(t.retries for t in tallies.values())
            handovers = max(len(d.get("handovers") or []), handed.get(run.uuid, 0))
            state = str(d.get("state"))
            flow = str(d.get("workflow"))
            states[state] += 1
            tally = per_flow[flow]
            tally.update({"runs": 1, state: 1, "failed_steps": len(failed),
                          "retries": retries, "handovers": handovers})
            run_rows.append([run.id, flow, state, when(run.created_at), when(run.updated_at),
                             len(tallies), len(failed), retries, handovers, d.get("error")])
            for step in sorted(failed):
                t = tallies.get(step, StepTally())
                failed_rows.append([run.id, flow, step, max(t.attempts, t.runs, 1),
                                    t.last_state or "FAILURE"])
        flow_rows: list[list[Cell]] = []
        for flow, c in sorted(per_flow.items()):
            finished = c["succeeded"] + c["failed"] + c["cancelled"]
            flow_rows.append([flow, c["runs"], c["succeeded"], c["failed"], c["cancelled"],
                              c["runs"] - finished,
                              round(c["succeeded"] / finished, 4) if finished else None,
                              c["failed_steps"], c["retries"], c["handovers"]])
        data = self.new(window, project_id)
        data.summary = {
            "runs": len(runs), "succeeded": states["succeeded"], "failed": states["failed"],
            "cancelled": states["cancelled"],
            "unfinished": states["requested"] + states["running"],
            "failed_steps": len(failed_rows),
            "retries": sum(int(r[7] or 0) for r in run_rows),
            "handovers": sum(int(r[8] or 0) for r in run_rows),
        }
        data.tables = [
            Table("by_workflow", "Outcomes by workflow",
                  ["workflow", "runs", "succeeded", "failed", "cancelled", "unfinished",
                   "success_rate", "failed_steps", "retries", "handovers"], flow_rows),
            Table("runs", "Runs", ["run_id", "workflow", "state", "requested_at",
                                   "updated_at", "steps", "failed_steps", "retries",
                                   "handovers", "error"], run_rows),
            Table("failed_steps", "Failed steps",
                  ["run_id", "workflow", "step", "attempts", "last_state"], failed_rows),
            counted_table("by_state", "Runs by state", ("state", "runs"), states),
        ]
        data.charts = [top_chart("Runs by state", states, "runs")]
        return data
