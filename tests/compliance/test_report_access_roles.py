"""The access report is read only by the roles that may list users, like /v1/users."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import falcon.testing
import pytest

from craton.api import create_app
from craton.api.auth import create_root
from craton.reports import load_reports
from craton.reports.registry import READ_AUDIT, required_permission
from tests.api.conftest import Caller, build_fleet, user_caller


@pytest.fixture(autouse=True)
def scripted_aggregates() -> Iterator[None]:
    """No scripted history here: the stand-in aggregates stay out."""
    yield


@pytest.fixture
def callers(services: Any) -> dict[str, Caller]:
    client = falcon.testing.TestClient(create_app(services))
    root = Caller(client, {"Authorization": f"Bearer {create_root(services)}"})
    fleet = build_fleet(root)
    out = {role: user_caller(root, fleet["pid"], role, f"{role}-user")
           for role in ("admin", "member", "auditor")}
    out["root"] = root
    return out


@pytest.mark.parametrize("role", ["root", "admin", "member", "auditor"])
def test_the_access_report_follows_the_right_to_list_users(callers, role):
    caller = callers[role]
    users = caller.get("/v1/users").status_code
    report = caller.get("/v1/reports/access").status_code
    listed = {r["name"] for r in caller.get("/v1/reports").json["reports"]}
    assert report == (200 if users == 200 else 403)
    assert ("access" in listed) == (users == 200)
    assert caller.get("/v1/reports/change-activity").status_code == 200


def test_a_member_is_refused_the_access_report_and_not_shown_it(callers):
    member = callers["member"]
    refused = member.get("/v1/reports/access")
    assert refused.status_code == 403 and "users" not in refused.json.get("tables", [])
    assert "access" not in {r["name"] for r in member.get("/v1/reports").json["reports"]}


def test_reports_say_what_reading_them_takes():
    reports = load_reports()
    assert required_permission(reports["access"]) == ("user", "list")
    assert required_permission(reports["drift"]) == READ_AUDIT


def _kinds_shown(report: dict[str, Any]) -> set[str]:
    """Every resource type and event type a report's tables show."""
    shown: set[str] = set()
    for table in report["tables"]:
        for column in ("resource_type", "event_type"):
            if column in table["columns"]:
                at = table["columns"].index(column)
                shown |= {str(row[at]) for row in table["rows"]}
    return shown


@pytest.mark.parametrize("name", ["change-activity", "unreasoned-changes"])
def test_the_change_reports_leave_out_users_for_a_role_that_may_not_read_them(
        callers, name):
    shown = {role: callers[role].get(f"/v1/reports/{name}").json
             for role in ("admin", "member")}
    assert {"user", "User.Registered"} <= _kinds_shown(shown["admin"])
    member = _kinds_shown(shown["member"])
    assert member and "user" not in member
    assert not any(kind.startswith("User.") for kind in member)
    listed = callers["member"].get("/v1/events", params={"limit": 500}).json["events"]
    assert shown["member"]["summary"]["changes"] == len(listed)
