"""Servers under test: ``craton serve`` and the trivial Falcon app, same gunicorn settings."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil

from bench.config import CACHE, ROOT

TOKEN = "bench-root-token-" + "b" * 24
WORKERS = 2


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Served:
    """One gunicorn master with its workers, started in its own process group."""

    def __init__(self, cmd: list[str], env: dict[str, str], port: int, ready: str):
        self.port = port
        self.log_path = CACHE / f"server-{port}.log"
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen(cmd, env={**os.environ, **env}, cwd=ROOT,
                                     stdout=self._log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        self._wait(ready)

    def _wait(self, path: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", path)
                if conn.getresponse().status == 200:
                    conn.close()
                    return
            except OSError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"server did not start: {self.log_path.read_text()[-2000:]}")

    def workers(self) -> list[psutil.Process]:
        try:
            return psutil.Process(self.proc.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self._log.close()


def craton(database_url: str) -> Served:
    _root_holds_token(database_url)
    port = free_port()
    exe = Path(sys.executable).parent / "craton"
    env = {"CRATON_DATABASE_URL": database_url, "CRATON_ROOT_TOKEN": TOKEN,
           "PYTHONPATH": str(ROOT)}
    cmd = [str(exe), "serve", "--no-demo", "--bind", f"127.0.0.1:{port}",
           "--workers", str(WORKERS)]
    return Served(cmd, env, port, "/readyz")


def _root_holds_token(database_url: str) -> None:
    """The bench's root token opens the database even where a root user was made
    with another token before (a cached log served by hand, say): that root user
    is issued the bench's token, once, replacing the other. Called on the bench's
    own databases only, after its replays have made their read models current."""
    from craton.api.auth import _root_users, ensure_root, hash_token, token_matches
    from craton.bootstrap import bootstrap
    from craton.domain.meta import system_meta
    from craton.settings import Settings

    svc = bootstrap(Settings(database_url=database_url))
    try:
        if ensure_root(svc, TOKEN):
            return
        with svc.db.reading() as conn:
            roots = _root_users(conn)
        if any(token_matches(TOKEN, r.secret) for r in roots):
            return
        root = next((r for r in roots if r.name == "root"), roots[0])
        svc.ledger.issue_token(system_meta("benchmark root token"), root.id,
                               hash_token(TOKEN))
    finally:
        svc.close()


def trivial(raw_kind: str | None = None) -> Served:
    """The baseline apps (``bench.trivial``); ``raw_kind`` names the raw store that
    ``PUT /raw`` writes to (see ``bench.raw.RawStore``)."""
    port = free_port()
    exe = Path(sys.executable).parent / "gunicorn"
    cmd = [str(exe), "--workers", str(WORKERS), "--bind", f"127.0.0.1:{port}",
           "--access-logfile", "-", "bench.trivial:application"]
    env = {"PYTHONPATH": str(ROOT), **({"BENCH_RAW_KIND": raw_kind} if raw_kind else {})}
    return Served(cmd, env, port, "/ping")


class Client:
    """One HTTP client connection (reopened when the server closes it)."""

    def __init__(self, port: int, headers: dict[str, str] | None = None):
        self.port = port
        self.headers = {"Authorization": f"Bearer {TOKEN}", "Accept": "application/json",
                        **(headers or {})}
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, bytes]:
        payload = None if body is None else json.dumps(body).encode()
        headers = dict(self.headers)
        if payload is not None:
            headers["Content-Type"] = "application/json"
        for attempt in range(2):
            try:
                self.conn.request(method, path, body=payload, headers=headers)
                resp = self.conn.getresponse()
                data = resp.read()
                if resp.will_close:
                    self.conn.close()
                return resp.status, data
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.conn.close()
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def ok(self, method: str, path: str, body: Any = None) -> bytes:
        status, data = self.call(method, path, body)
        if status >= 300:
            raise RuntimeError(f"{method} {path}: {status} {data[:300]!r}")
        return data
