"""API fixtures: an app over fresh services, a root token, and callers of every role."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import falcon.testing
import pytest

from craton.api import create_app
from craton.api.auth import create_root
from craton.bootstrap import Services, bootstrap
from craton.settings import Settings


@dataclass
class Caller:
    """A client that sends one user's credentials with every request."""

    client: falcon.testing.TestClient
    headers: dict[str, str] = field(default_factory=dict)

    def _do(self, method: str, path: str, **kw: Any) -> falcon.testing.Result:
        headers = {**self.headers, **kw.pop("headers", {})}
        return self.client.simulate_request(method, path, headers=headers, **kw)

    def get(self, path: str, **kw: Any) -> falcon.testing.Result:
        return self._do("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> falcon.testing.Result:
        return self._do("POST", path, **kw)

    def put(self, path: str, **kw: Any) -> falcon.testing.Result:
        return self._do("PUT", path, **kw)

    def delete(self, path: str, **kw: Any) -> falcon.testing.Result:
        return self._do("DELETE", path, **kw)

    def in_project(self, project_id: str) -> Caller:
        return Caller(self.client, {**self.headers, "X-Auth-Project": project_id})


def ok(result: falcon.testing.Result, status: int = 200) -> Any:
    assert result.status_code == status, (result.status_code, result.text)
    return result.json if result.text else None


@pytest.fixture
def svc() -> Iterator[Services]:
    services = bootstrap(Settings(database_url="sqlite://", max_body_bytes=64 * 1024))
    yield services
    services.close()


@pytest.fixture
def app_client(svc: Services) -> falcon.testing.TestClient:
    return falcon.testing.TestClient(create_app(svc))


@pytest.fixture
def root(svc: Services, app_client: falcon.testing.TestClient) -> Caller:
    return Caller(app_client, {"Authorization": f"Bearer {create_root(svc)}"})


def build_fleet(root: Caller, name: str = "acme") -> dict[str, Any]:
    """A project with a cloud, region, cell, host and a member; returns ids and callers."""
    project = ok(root.post("/v1/projects", json={"name": name}), 201)
    pid = project["id"]
    scoped = root.in_project(pid)
    cloud = ok(scoped.post("/v1/clouds", json={"name": f"{name}-cloud"}), 201)
    region = ok(scoped.post("/v1/regions", json={
        "name": f"{name}-region", "cloud_id": cloud["id"]}), 201)
    cell = ok(scoped.post("/v1/cells", json={"name": f"{name}-cell",
                                              "region_id": region["id"]}), 201)
    host = ok(scoped.post("/v1/hosts", json={
        "name": f"{name}-host", "region_id": region["id"], "cell_id": cell["id"]}), 201)
    return {"project": project, "pid": pid, "root": scoped, "cloud": cloud,
            "region": region, "cell": cell, "host": host}


def user_caller(root: Caller, pid: str, role: str, name: str) -> Caller:
    created = ok(root.post("/v1/users", json={
        "username": name, "role": role, "project_id": pid}), 201)
    return Caller(root.client, {"Authorization": f"Bearer {created['token']}"})


@pytest.fixture
def fleet(root: Caller) -> dict[str, Any]:
    out = build_fleet(root)
    out["member"] = user_caller(root, out["pid"], "member", "mia")
    return out


@pytest.fixture
def member(fleet: dict[str, Any]) -> Caller:
    caller: Caller = fleet["member"]
    return caller
