"""Reports that count changes read the window a batch at a time: the same answer
whatever the batch, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from craton.reports import queries
from craton.reports.registry import get_report, run_report


@pytest.mark.parametrize("name", ["change-activity", "unreasoned-changes"])
def test_a_report_is_the_same_read_in_small_batches(history, monkeypatch, name) -> None:
    svc, _ = history

    def report() -> dict:
        with svc.db.reading() as conn:
            data = run_report(conn, get_report(name, svc.settings))
        return {"summary": data.summary, "tables": [t.rows for t in data.tables]}

    whole = report()
    assert whole["summary"]["changes"] > 7
    monkeypatch.setattr(queries, "STREAMED", 3)
    assert report() == whole
