"""Over real HTTP: gunicorn workers, the root bootstrap, metrics across workers."""

from __future__ import annotations

import pytest

from .conftest import Server, fleet

pytestmark = pytest.mark.e2e


def test_a_fleet_is_built_and_read_back_over_http(server: Server):
    made = fleet(server)
    s, url = made["session"], server.url
    got = s.get(f"{url}/v1/hosts/{made['host']['id']}", headers={"X-Request-Id": "e2e-1"})
    assert got.status_code == 200 and got.headers["X-Request-Id"] == "e2e-1"
    assert got.headers["ETag"] == '"1"'
    assert s.get(f"{url}/v1/hosts/424242").status_code == 404
    assert s.post(f"{url}/v1/hosts", data="x=1",
                  headers={"Content-Type": "text/plain"}).status_code == 415
    anonymous = s.get(f"{url}/v1/hosts", headers={"Authorization": "Bearer nope"})
    assert anonymous.status_code == 401 and anonymous.json()["status"] == 401
    for _ in range(6):  # spread over both workers
        s.get(f"{url}/v1/hosts")
    metrics = s.get(f"{url}/metrics").text
    line = next(x for x in metrics.splitlines()
                if x.startswith('craton_http_requests_total{method="GET",route="/v1/hosts",'
                                'status="200"}'))
    assert float(line.rsplit(" ", 1)[1]) >= 6
    assert s.get(f"{url}/v1/openapi.json").json()["openapi"] == "3.1.0"
