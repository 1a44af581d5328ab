"""A real gunicorn server on a free port, on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.conftest import postgres_schema_url

ROOT_TOKEN = "e2e-root-token-" + "x" * 24
LAUNCH = (
    "from craton.settings import Settings; from craton.bootstrap import bootstrap; "
    "from craton.api.server import serve; s = Settings.from_env(); "
    "serve(s, lambda: bootstrap(s), {'accesslog': None})"
)


@dataclass
class Server:
    """A running server: where it listens and how to reach it as root."""

    url: str
    database_url: str

    def root(self) -> requests.Session:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {ROOT_TOKEN}"
        return session


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(database_url: str, tmp: Path) -> Iterator[Server]:
    port = _free_port()
    env = {**os.environ, "CRATON_DATABASE_URL": database_url,
           "CRATON_BIND": f"127.0.0.1:{port}", "CRATON_WORKERS": "2",
           "CRATON_ROOT_TOKEN": ROOT_TOKEN,
           "PROMETHEUS_MULTIPROC_DIR": str(tmp / "metrics")}
    (tmp / "metrics").mkdir()
    log = (tmp / "server.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-c", LAUNCH], env=env, stdout=log,
                            stderr=subprocess.STDOUT, cwd=Path(__file__).parents[2])
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(f"{url}/readyz", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError((tmp / "server.log").read_text()[-3000:])
            time.sleep(0.1)
        yield Server(url, database_url)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    if request.param == "sqlite":
        yield from _start(f"sqlite:///{tmp_path / 'craton.db'}", tmp_path)
    else:
        for url in postgres_schema_url():
            yield from _start(url, tmp_path)


def fleet(server: Server) -> dict[str, Any]:
    """A project, cloud, region and host created over HTTP; returns ids and a session."""
    root = server.root()
    project = root.post(f"{server.url}/v1/projects", json={"name": "e2e"}).json()
    root.headers["X-Auth-Project"] = project["id"]
    cloud = root.post(f"{server.url}/v1/clouds", json={"name": "c"}).json()
    region = root.post(f"{server.url}/v1/regions",
                       json={"name": "r", "cloud_id": cloud["id"]}).json()
    host = root.post(f"{server.url}/v1/hosts",
                     json={"name": "h", "region_id": region["id"]}).json()
    return {"session": root, "project": project, "region": region, "host": host}
