"""A run's item: its body, ETag and position from one read of its row."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event

from craton.bootstrap import Services

from .conftest import Caller, ok


def _row_reads(svc: Services, member: Caller, path: str, run_id: int) -> int:
    """How many statements read the run's row while ``path`` is answered."""
    reads: list[str] = []

    def note(conn: Any, cursor: Any, statement: str, params: Any, context: Any,
             many: bool) -> None:
        values = params.values() if isinstance(params, dict) else params or ()
        if "FROM resource_versions" in statement and run_id in tuple(values):
            reads.append(statement)

    event.listen(svc.db.read_engine, "before_cursor_execute", note)
    try:
        ok(member.get(path))
    finally:
        event.remove(svc.db.read_engine, "before_cursor_execute", note)
    return len(reads)


def test_a_run_item_reads_its_row_once(svc, member, fleet):
    run = ok(member.post("/v1/workflow-runs", json={
        "workflow": "audit", "parameters": {"hosts": [fleet["host"]["id"]]}}), 202)
    assert _row_reads(svc, member, f"/v1/workflow-runs/{run['id']}", run["id"]) == 1


def test_the_reads_of_a_run_row_are_seen(svc, member, fleet):
    """The count the test above compares sees the item's reads at all."""
    run = ok(member.post("/v1/workflow-runs", json={
        "workflow": "audit", "parameters": {"hosts": [fleet["host"]["id"]]}}), 202)
    assert _row_reads(svc, member, f"/v1/workflow-runs/{run['id']}", run["id"]) >= 1
