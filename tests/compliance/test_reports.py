"""Reports computed on a scripted history, in JSON, CSV and HTML."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from craton.cli import main
from craton.domain.errors import InvalidInput
from craton.reports import load_reports, run_report
from craton.reports.render import render
from craton.reports.render.as_csv import split_sections
from craton.settings import Settings

WINDOWS = "Mon-Fri 08:00-18:00 UTC"
UNTIL = "2026-03-10T00:00:00Z"


def compute(svc: Any, name: str, start: str | None = None, end: str | None = UNTIL,
            project: str | None = None) -> Any:
    reports = load_reports(replace(Settings(), change_windows=WINDOWS))
    with svc.db.reading() as conn:
        return run_report(conn, reports[name], start, end, project)


def rows(data: Any, table: str) -> list[dict[str, Any]]:
    t = data.table(table)
    return [dict(zip(t.columns, r, strict=True)) for r in t.rows]


def test_every_report_is_installed_as_a_plugin() -> None:
    assert set(load_reports()) == {"change-activity", "unreasoned-changes", "unused-capacity",
                                   "drift", "workflow-outcomes", "access"}


def test_change_activity_counts_changes_by_actor_type_source_and_day(history) -> None:
    svc, _ = history
    data = compute(svc, "change-activity")
    assert data.summary["changes"] == 38
    assert dict(map(tuple, data.table("by_actor").rows)) == {
        "worker": 16, "alice": 14, "bob": 4, "importer": 3, "craton": 1}
    assert dict(map(tuple, data.table("by_source").rows)) == {
        "api": 17, "flow": 16, "import": 3, "cli": 1, "system": 1}
    assert dict(map(tuple, data.table("by_project").rows)) == {"acme": 38}
    assert dict(map(tuple, data.table("by_resource_type").rows))["host"] == 7
    assert data.table("by_day").rows == [["2026-03-02", 8], ["2026-03-03", 5],
                                         ["2026-03-05", 17], ["2026-03-06", 1],
                                         ["2026-03-07", 2], ["2026-03-09", 5]]
    per_day = data.charts[0]
    assert per_day.labels[0] == "2026-03-02" and per_day.labels[-1] == "2026-03-10"
    assert per_day.values[:4] == [8.0, 5.0, 0.0, 17.0]


def test_a_window_limits_the_changes_by_time_or_position(history) -> None:
    svc, _ = history
    by_time = compute(svc, "change-activity", "2026-03-03T00:00:00Z", "2026-03-06T00:00:00Z")
    assert by_time.summary["changes"] == 5 + 17
    by_position = compute(svc, "change-activity", "@8", "@13")
    assert by_position.summary["changes"] == 5
    assert (by_position.window.after, by_position.window.until) == (8, 13)


def test_a_project_report_leaves_other_projects_out(history) -> None:
    svc, ids = history
    from craton.domain.meta import system_meta

    svc.ledger.register(system_meta(), "project", {"name": "other"})
    assert compute(svc, "change-activity", end=None, project=ids["project"]
                   ).summary["changes"] == 38
    assert compute(svc, "change-activity", end=None).summary["changes"] == 39


def test_changes_without_reason_and_outside_windows_are_listed(history) -> None:
    svc, _ = history
    data = compute(svc, "unreasoned-changes")
    assert [r["position"] for r in rows(data, "unreasoned")] == [1, 9, 32, 33]
    assert [r["position"] for r in rows(data, "outside_windows")] == [32, 33]
    assert data.summary["outside_and_unreasoned"] == 2
    assert data.summary["change_windows"] == WINDOWS


def test_unused_capacity_prices_idle_hosts_and_cells(history) -> None:
    svc, _ = history
    data = compute(svc, "unused-capacity")
    hosts = {r["host"]: r for r in rows(data, "hosts")}
    assert hosts["h3"]["empty"] and hosts["h3"]["asset_cost"] == 3000
    assert hosts["h2"]["usage_source"] == "instances"
    assert (hosts["h2"]["memory_used_mb"], hosts["h2"]["vcpus_used"]) == (12288, 6)
    assert hosts["h2"]["idle_cost"] == 800 and hosts["h1"]["idle_cost"] == 500
    cells = {r["cell"]: r for r in rows(data, "cells")}
    assert cells["cell-a"]["hosts_freeable"] == 1 and cells["cell-a"]["memory_use_pct"] == 35.0
    assert data.summary["saving_from_empty_hosts"] == 3000
    assert data.summary["estimated_consolidation_saving"] == 4000
    before_instances = compute(svc, "unused-capacity", end="@31")
    h2 = {r["host"]: r for r in rows(before_instances, "hosts")}["h2"]
    assert h2["empty"] and h2["memory_used_mb"] == 0


def test_drift_shows_open_and_resolved_findings_with_age(history) -> None:
    svc, _ = history
    data = compute(svc, "drift")
    findings = {r["resource"]: r for r in rows(data, "findings")}
    assert findings["h2"]["status"] == "resolved"
    assert findings["h2"]["resolved_at"] == "2026-03-06T09:00:01Z"
    assert findings["h1"]["status"] == "open"
    assert findings["h1"]["age_days"] == pytest.approx(4.4, abs=0.05)
    assert data.summary["open"] == 2 and data.summary["resolved_in_window"] == 1
    later = compute(svc, "drift", start="2026-03-07T00:00:00Z")
    assert {r["resource"] for r in rows(later, "findings")} == {"h1", "h3"}


def test_workflow_outcomes_count_failures_retries_and_handovers(history) -> None:
    svc, _ = history
    data = compute(svc, "workflow-outcomes")
    flows = {r["workflow"]: r for r in rows(data, "by_workflow")}
    assert flows["audit"]["succeeded"] == 1 and flows["audit"]["retries"] == 1
    assert flows["audit"]["failed_steps"] == 0
    assert flows["remediate"]["failed"] == 1 and flows["remediate"]["handovers"] == 1
    assert rows(data, "failed_steps")[0]["step"] == "drain"
    assert data.summary == {"runs": 2, "succeeded": 1, "failed": 1, "cancelled": 0,
                            "unfinished": 0, "failed_steps": 1, "retries": 1, "handovers": 1}


def test_access_lists_users_tokens_and_denied_requests(history) -> None:
    svc, _ = history
    data = compute(svc, "access", end=None)
    users = {r["user"]: r for r in rows(data, "users")}
    assert users["carol"]["role"] == "member" and users["carol"]["tokens_issued_in_window"] == 2
    assert users["carol"]["token_uses_in_window"] == 3
    assert users["carol"]["denied_in_window"] == 1
    assert data.summary["denied_401"] == 1 and data.summary["denied_403"] == 1
    assert [r["status"] for r in rows(data, "denied")] == [401, 403]


def test_every_report_renders_in_every_format(history) -> None:
    svc, _ = history
    for name in load_reports():
        data = compute(svc, name)
        doc = json.loads(render(data, "json"))
        assert doc["report"] == name and doc["window"]["until_position"] == 33 + 5
        sections = split_sections(render(data, "csv"))
        assert set(sections) == {"summary"} | {t.name for t in data.tables}
        html = render(data, "html")
        assert "<table" in html and "<script" not in html
        assert ("<svg" in html) == any(c.values for c in data.charts)


def test_csv_and_json_carry_the_same_numbers(history) -> None:
    svc, _ = history
    data = compute(svc, "unused-capacity")
    doc = json.loads(render(data, "json"))
    csv_cells = {r["cell"]: r for r in split_sections(render(data, "csv"))["cells"]}
    json_cells = {r[0]: r for r in doc["tables"][1]["rows"]}
    assert float(csv_cells["cell-b"]["estimated_saving"]) == json_cells["cell-b"][11] == 3000
    assert "<svg" in render(data, "html") and 'id="cells"' in render(data, "html")


def test_a_window_that_ends_before_it_starts_is_refused(memory_history) -> None:
    svc, _ = memory_history
    with pytest.raises(InvalidInput):
        compute(svc, "drift", "@20", "@10")


def test_a_window_that_starts_beyond_the_log_is_refused(memory_history) -> None:
    svc, _ = memory_history
    with pytest.raises(InvalidInput, match=r"starts \(@9+\) after the last event \(@\d+\)"):
        compute(svc, "access", "@" + "9" * 20, None)
    with pytest.raises(InvalidInput, match=r"ends \(now, .*\) before it starts \(2999"):
        compute(svc, "access", "2999-01-01T00:00:00Z", None)


def test_a_window_to_position_zero_ends_before_the_first_event(memory_history) -> None:
    svc, _ = memory_history
    window = compute(svc, "change-activity", None, "@0").window
    assert window.until == 0
    assert window.end == window.start  # the first event's time, not now


def test_the_report_command_writes_each_format(history, tmp_path, capsys) -> None:
    svc, _ = history
    url = svc.db.url
    out = tmp_path / "activity.csv"
    assert main(["--database-url", url, "report", "change-activity", "--to", UNTIL,
                 "--format", "csv", "-o", str(out)]) == 0
    assert split_sections(out.read_text())["summary"][0] == {"figure": "changes", "value": "38"}
    assert main(["--database-url", url, "report", "drift", "--from", "@0"]) == 0
    assert json.loads(capsys.readouterr().out)["summary"]["open"] == 2
    assert main(["--database-url", url, "report", "nope"]) == 2
    assert "no report 'nope'" in capsys.readouterr().err
    assert main(["--database-url", url, "report"]) == 0
    assert "unused-capacity" in capsys.readouterr().out
    assert main(["--database-url", url, "report", "--from", "notadate"]) == 2
    assert "name the report to compute" in capsys.readouterr().err


def test_a_window_to_the_last_day_of_the_calendar_is_charted(memory_history) -> None:
    svc, _ = memory_history
    data = compute(svc, "change-activity", None, "9999-12-31T23:59:59Z")
    chart = next(c for c in data.charts if c.labels)
    assert chart.labels[-1] == "9999-12-31"
