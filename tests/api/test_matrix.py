"""Every route, every role, own project and another: the exact status, and no leaks."""

from __future__ import annotations

import re
from typing import Any

import pytest

from craton.api import create_app
from craton.domain.meta import Meta
from craton.flows.service import cancel_run

from .conftest import Caller, build_fleet, ok, user_caller
from .routes import served

INVENTORY = ("cloud", "region", "cell", "host", "network-device", "network",
             "network-interface", "instance-group", "instance")
WRITE_ROLES = {"root", "admin", "member"}
ALL_ROLES = {"root", "admin", "member", "auditor"}
RULES = {  # kind -> action -> roles
    "project": {"list": {"root"}, "read": ALL_ROLES, "write": {"root", "admin"},
                "delete": {"root"}, "create": {"root"}},
    "user": {"list": {"root", "admin", "auditor"}, "read": {"root", "admin", "auditor"},
             "write": {"root", "admin"}, "delete": {"root", "admin"},
             "create": {"root", "admin"}},
}
DEFAULT = {"list": ALL_ROLES, "read": ALL_ROLES, "write": WRITE_ROLES,
           "delete": WRITE_ROLES, "create": WRITE_ROLES}
PLURAL = {"clouds": "cloud", "regions": "region", "cells": "cell", "hosts": "host",
          "network-devices": "network-device", "networks": "network",
          "network-interfaces": "network-interface", "instance-groups": "instance-group",
          "instances": "instance", "users": "user", "projects": "project", "plans": "plan",
          "workflow-runs": "workflow-run"}


def populate(root: Caller, name: str) -> dict[str, Any]:
    fleet = build_fleet(root, name)
    scoped = root.in_project(fleet["pid"])
    region, host = fleet["region"]["id"], fleet["host"]["id"]
    ids = {"project": fleet["pid"], "cloud": fleet["cloud"]["id"], "region": region,
           "cell": fleet["cell"]["id"], "host": host}
    for kind, plural, body in (
        ("network-device", "network-devices", {"name": f"{name}-sw", "region_id": region}),
        ("network", "networks", {"name": f"{name}-net", "region_id": region}),
        ("network-interface", "network-interfaces", {"name": "eth0", "device_id": host}),
        ("instance-group", "instance-groups", {"name": f"{name}-g", "policy": "affinity"}),
        ("instance", "instances", {"name": f"{name}-vm"}),
    ):
        ids[kind] = ok(scoped.post(f"/v1/{plural}", json=body), 201)["id"]
    ids["plan"] = ok(scoped.post("/v1/plans", json={"planner": "greedy", "time_limit_s": 5}),
                     201)["id"]
    ids["workflow-run"] = ok(scoped.post("/v1/workflow-runs", json={
        "workflow": "audit", "parameters": {"hosts": [host]}}), 202)["id"]
    ids["user"] = ok(root.post("/v1/users", json={
        "username": f"{name}-target", "role": "member", "project_id": fleet["pid"]}),
        201)["id"]
    return {"fleet": fleet, "ids": ids}


@pytest.fixture
def world(svc, root):
    own, other = populate(root, "own"), populate(root, "oth")
    pid = own["fleet"]["pid"]
    for side in (own, other):  # executed plans: executing again is a 409 for allowed roles
        who = Meta(actor_id=None, actor_name="test", source="cli",
                   project_id=side["fleet"]["pid"])
        svc.ledger.update(who, "plan", side["ids"]["plan"], {"state": "executed"})
        cancel_run(svc, who, side["ids"]["workflow-run"])  # ended: cancelling again is 409
    callers = {
        "root": root, "root-in-project": root.in_project(pid),
        "admin": user_caller(root, pid, "admin", "adm"),
        "member": user_caller(root, pid, "member", "mem"),
        "auditor": user_caller(root, pid, "auditor", "aud"),
    }
    return {"own": own["ids"], "other": other["ids"], "callers": callers,
            "routes": served(create_app(svc)), "other_names": ["oth-host", "oth-cloud"]}


def expected(role: str, cross: bool, kind: str, action: str, own_status: int) -> int:
    base = "root" if role.startswith("root") else role
    if base not in RULES.get(kind, DEFAULT)[action]:
        return 403
    if cross and role != "root":
        return 404
    return own_status


ITEM_CALLS = {  # suffix -> method -> (action, body, headers, status when allowed)
    "": {"GET": ("read", None, {}, 200), "PUT": ("write", {}, {}, 200),
         "DELETE": ("delete", None, {"If-Match": '"999"'}, 412)},
    "/variables": {"GET": ("read", None, {}, 200),
                   "PUT": ("write", {"variables": {}}, {}, 200),
                   "DELETE": ("write", {"variables": []}, {}, 200)},
    "/labels": {"GET": ("read", None, {}, 200), "PUT": ("write", {"labels": []}, {}, 200),
                "DELETE": ("write", {"labels": []}, {}, 200)},
    "/facts": {"GET": ("read", None, {}, 200)},
    "/history": {"GET": ("read", None, {}, 200)},
    "/execute": {"POST": ("write", None, {}, 409)},
    "/cancel": {"POST": ("write", None, {}, 409)},
}
GLOBAL = ("/v1/events", "/v1/diff", "/v1/devices", "/v1/ansible-inventory", "/v1/reports",
          "/v1/reports/{name}", "/v1/workflows")
PROOF_ROLES = {"root", "root-in-project", "auditor"}
PROOFS = ("/v1/ledger/digest", "/v1/ledger/verify")  # the ledger's proofs: root and auditors
PUBLIC = ("/v1", "/healthz", "/readyz", "/metrics", "/v1/openapi.json")


def test_every_route_every_role_every_project(world, app_client):
    checked = 0
    for template, _resource, methods in world["routes"]:
        match = re.match(r"^/v1/([a-z-]+)/{id(?::int)?}(/\w+)?$", template)
        for method in methods:
            for role, caller in world["callers"].items():
                if template in PUBLIC:
                    assert caller.get(template).status_code == 200
                    assert app_client.simulate_get(template).status_code == 200
                elif template in PROOFS:
                    want = 200 if role in PROOF_ROLES else 403
                    assert caller.get(template).status_code == want, (template, role)
                    assert app_client.simulate_get(template).status_code == 401
                elif template in GLOBAL:
                    query = "?from=@0" if template == "/v1/diff" else ""
                    path = template.replace("{name}", "change-activity")
                    result = caller.get(path + query)
                    assert result.status_code == 200, (template, role)
                    if role != "root":
                        for leak in world["other_names"]:
                            assert leak not in result.text, (template, role)
                elif match is None:  # a collection
                    kind = PLURAL[template.rsplit("/", 1)[1]]
                    action = "list" if method == "GET" else "create"
                    kw = {"json": {"bogus": 1}} if method == "POST" else {}
                    result = caller._do(method, template, **kw)
                    want = expected(role, False, kind, action, 200 if method == "GET" else 400)
                    assert result.status_code == want, (method, template, role, result.text)
                    if method == "GET" and want == 200 and role != "root":
                        listed = [x["id"] for x in result.json[template.rsplit("/", 1)[1]]]
                        assert world["other"][kind] not in listed, (template, role)
                        assert world["own"][kind] in listed, (template, role)
                else:
                    kind = PLURAL[match.group(1)]
                    action, body, headers, status = ITEM_CALLS[match.group(2) or ""][method]
                    for cross in (False, True):
                        target = world["other" if cross else "own"][kind]
                        path = template.replace("{id:int}", str(target)).replace(
                            "{id}", str(target))
                        kw: dict[str, Any] = {"headers": headers}
                        if body is not None:
                            kw["json"] = body
                        result = caller._do(method, path, **kw)
                        want = expected(role, cross, kind, action, status)
                        assert result.status_code == want, (method, path, role, result.text)
                        if want in (403, 404):
                            assert result.json["status"] == want
                checked += 1
            if template not in PUBLIC:
                anonymous = Caller(app_client)._do(method, template.replace(
                    "{id:int}", "1").replace("{id}", "1"))
                assert anonymous.status_code in (401, 404) if "{id}" in template \
                    else anonymous.status_code == 401, template
    assert checked > 500
