"""Reports and ledger proofs over HTTP (routes added to a test app)."""

from __future__ import annotations

import falcon.testing
import pytest

from craton.api.app import create_app
from craton.api.auth import create_root
from craton.api.compliance import compliance_routes
from craton.api.context import Api


@pytest.fixture
def client(memory_history):
    svc, ids = memory_history
    app = create_app(svc)
    token = create_root(svc)
    client = falcon.testing.TestClient(app, headers={"Authorization": f"Bearer {token}"})
    if client.simulate_get("/v1/ledger/digest").status_code == 404:  # not yet in create_app
        for path, resource in compliance_routes(Api(svc)):
            app.add_route(path, resource)
    return client, ids


def test_reports_are_listed_and_rendered(client) -> None:
    c, _ = client
    names = {r["name"] for r in c.simulate_get("/v1/reports").json["reports"]}
    assert "unused-capacity" in names
    got = c.simulate_get("/v1/reports/drift", params={"to": "2026-03-10T00:00:00Z"})
    assert got.status_code == 200 and got.json["summary"]["open"] == 2
    html = c.simulate_get("/v1/reports/change-activity", params={"format": "html"})
    assert html.headers["content-type"].startswith("text/html") and "<svg" in html.text
    csv = c.simulate_get("/v1/reports/access", params={"format": "csv", "from": "@30"})
    assert csv.status_code == 200 and csv.text.startswith("# summary")


def test_bad_report_requests_get_the_usual_errors(client) -> None:
    c, _ = client
    assert c.simulate_get("/v1/reports/nope").status_code == 404
    bad = c.simulate_get("/v1/reports/drift", params={"format": "pdf", "to": "yesterday"})
    assert bad.status_code == 400 and {"format", "to"} <= set(bad.json["errors"])
    assert c.simulate_get("/v1/reports/drift", params={"x": "1"}).status_code == 400
    huge = c.simulate_get("/v1/reports/access", params={"from": "@" + "9" * 20})
    assert huge.status_code == 400 and "from" in huge.json["errors"]


def test_the_ledger_digest_and_verification(client) -> None:
    c, _ = client
    digest = c.simulate_get("/v1/ledger/digest").json
    assert digest["position"] == 40 and len(digest["hash"]) == 64
    verdict = c.simulate_get("/v1/ledger/verify").json
    assert verdict["ok"] and verdict["checked"] == 40
    anonymous = c.simulate_get("/v1/ledger/verify", headers={"Authorization": ""})
    assert anonymous.status_code == 401
