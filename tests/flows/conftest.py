"""Fixtures for workflow tests: a small demo fleet, an actor, a way to run a run."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import pytest
from stevedore import ExtensionManager
from stevedore.extension import Extension

from craton.bootstrap import Services
from craton.demo import load_demo
from craton.domain.meta import Meta
from craton.flows import audit, catalog, evacuate, execute_plan, service
from craton.flows.inventory import hosts_where, instances_on
from craton.flows.worker import Worker
from craton.planning.service import compute_plan


@pytest.fixture(autouse=True)
def installed_workflows():
    """The three workflows, without relying on stevedore's entry-point cache."""
    flows = [audit.WORKFLOW, evacuate.WORKFLOW, execute_plan.WORKFLOW]
    catalog.use(ExtensionManager.make_test_instance(
        [Extension(w.name, None, w, w) for w in flows], namespace="craton.flows"))
    yield
    catalog.use(None)


class Fleet:
    """The demo fleet of one region, and helpers to request and run runs in it."""

    def __init__(self, svc: Services):
        self.svc = svc
        summary = load_demo(svc.ledger, hosts_per_cell=3, regions=1, days=0)
        self.project = summary["project"]["uuid"]
        self.meta = Meta(actor_id=7, actor_name="alice", source="api",
                         project_id=self.project, reason="CHG-2001 hardware refresh")
        with svc.db.reading() as conn:
            self.hosts = [h.id for h in hosts_where(conn, self.project, {})]
            self.region_id = hosts_where(conn, self.project, {})[0].region_id

    def instances_on(self, host_ids: list[int]) -> list[Any]:
        with self.svc.db.reading() as conn:
            return instances_on(conn, host_ids)

    def request(self, workflow: str, **parameters: Any) -> dict[str, Any]:
        return service.request_run(self.svc, self.meta, workflow, parameters)

    def run(self, workflow: str, **parameters: Any) -> dict[str, Any]:
        """Request a run, execute it with a worker, and return it with its steps."""
        run = self.request(workflow, **parameters)
        assert Worker(self.svc).run_once() == run["uuid"]
        return service.get_run(self.svc, run["id"], self.project)


@pytest.fixture
def fleet(memory_services: Services) -> Fleet:
    return Fleet(memory_services)


# ``craton worker`` in a process of its own, as an operator starts it.
WORKER = (
    "import sys, warnings; warnings.simplefilter('ignore');"
    "import craton.flows.cli; from craton.cli import main;"
    "sys.exit(main(sys.argv[1:]))"
)


def spawn_worker(svc: Services, *args: str) -> subprocess.Popen[bytes]:
    """``craton worker ARGS`` on the services' database, in another process."""
    return subprocess.Popen(
        [sys.executable, "-c", WORKER, "--database-url", svc.db.url, "worker", *args],
        env={**os.environ, "PYTHONPATH": os.getcwd()},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def plan_of(fleet: Fleet) -> dict[str, Any]:
    """A greedy consolidation plan of the fleet, which moves something."""
    plan = compute_plan(fleet.svc, fleet.meta, planner_name="greedy")
    assert plan["fields"]["moves"]
    return plan
