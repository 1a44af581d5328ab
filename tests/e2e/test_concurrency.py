"""Several clients change one host's variables at once: no lost update, no 5xx."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from craton.bootstrap import bootstrap
from craton.replay import verify
from craton.settings import Settings

from .conftest import Server, fleet

pytestmark = pytest.mark.e2e


def test_concurrent_variable_writes_end_consistent(server: Server):
    made = fleet(server)
    url, host = server.url, made["host"]["id"]
    path = f"{url}/v1/hosts/{host}/variables"
    statuses: list[int] = []
    lock = threading.Lock()

    def client(n: int) -> None:
        session = server.root()
        session.headers["X-Auth-Project"] = made["project"]["id"]
        for i in range(8):
            headers: dict[str, Any] = {}
            if i % 2:  # half the writes are conditional on what the client last saw
                etag = session.get(path, params={"resolved-values": "false"}).headers["ETag"]
                headers["If-Match"] = etag
            if i % 3 == 2:
                result = session.delete(path, json={"variables": [f"k{n}"]}, headers=headers)
            else:
                result = session.put(path, json={"variables": {f"k{n}": i, "shared": n}},
                                     headers=headers)
            with lock:
                statuses.append(result.status_code)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses and set(statuses) <= {200, 409, 412}, statuses
    assert statuses.count(200) >= 5
    final = made["session"].get(path, params={"resolved-values": "false"}).json()["variables"]
    assert final == replayed(made["session"], url, host)
    services = bootstrap(Settings(database_url=server.database_url), init=False)
    try:
        assert verify(services).differences == []
    finally:
        services.close()


def replayed(session: Any, url: str, host: int) -> dict[str, Any]:
    """The host's own variables rebuilt from its events in the audit trail."""
    state: dict[str, Any] = {}
    after = 0
    while True:
        page = session.get(f"{url}/v1/events", params={
            "resource_id": host, "after": after, "limit": 1000}).json()
        for event in page["events"]:
            for key, (_old, new) in event["changes"].get("variables", {}).items():
                if new is None:
                    state.pop(key, None)
                else:
                    state[key] = new
        if not any(link["rel"] == "next" for link in page["links"]):
            return state
        after = page["events"][-1]["position"]
