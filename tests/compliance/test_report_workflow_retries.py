"""The workflow-outcomes report counts each retried migration once, not its controller too."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from craton.reports import load_reports, run_report
from tests.flows.conftest import Fleet


@pytest.fixture(autouse=True)
def scripted_aggregates() -> Iterator[None]:
    """Real runs here: the stand-in aggregates of the other compliance tests stay out."""
    yield


def _outcomes(fleet: Fleet) -> Any:
    with fleet.svc.db.reading() as conn:
        return run_report(conn, load_reports()["workflow-outcomes"], None, None,
                          fleet.project)


def _three_guests(fleet: Fleet) -> tuple[list[int], list[str]]:
    for host in fleet.hosts:
        guests = fleet.instances_on([host])
        if len(guests) >= 3:
            return [host], [g.name for g in guests[:3]]
    raise AssertionError("no host of the demo fleet holds three instances")


def test_three_migrations_failing_twice_each_are_six_retries(services):
    fleet = Fleet(services)
    hosts, names = _three_guests(fleet)
    run = fleet.run("evacuate", hosts=hosts, max_retries=3,
                    driver_config={"flaky_migrations": {n: 2 for n in names}})
    assert run["state"] == "succeeded", run.get("error")
    retried = [s for s in run["steps"] if ".migrate-" in s["name"]
               and not s["name"].endswith(".attempts") and s["attempts"] > 1]
    assert sorted(s["attempts"] for s in retried) == [3, 3, 3]
    data = _outcomes(fleet)
    assert data.summary["retries"] == 6
    runs = data.table("runs")
    row = dict(zip(runs.columns, next(r for r in runs.rows if r[0] == run["id"]), strict=True))
    assert row["retries"] == 6


def test_seeded_failures_are_counted_as_the_run_retried_them(services):
    fleet = Fleet(services)
    hosts, _ = _three_guests(fleet)
    run = fleet.run("evacuate", hosts=hosts, max_retries=5,
                    driver_config={"seed": 7, "failure_rates": {"live_migrate": 0.5}})
    retries = sum(s["attempts"] - 1 for s in run["steps"]
                  if ".migrate-" in s["name"] and not s["name"].endswith(".attempts"))
    assert retries > 0  # the seed makes some migrations fail
    assert _outcomes(fleet).summary["retries"] == retries
