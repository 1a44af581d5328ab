"""Serving the API with gunicorn: one app per worker, built after the fork."""

from __future__ import annotations

import gc
import os
import shutil
import tempfile
from collections.abc import Callable
from typing import Any

from gunicorn.app.base import BaseApplication

from craton.bootstrap import Services
from craton.planning.service import MAX_TIME_LIMIT_S
from craton.settings import Settings

from .app import create_app
from .auth import ensure_root

# A plan is solved inside its POST (time limit at most MAX_TIME_LIMIT_S); the
# worker must outlive the longest solve. Workflows never run in a request.
WORKER_TIMEOUT_S = int(MAX_TIME_LIMIT_S) + 30
# No database statement of a worker runs longer (PostgreSQL's statement_timeout), so
# none goes on after gunicorn has given up on the request that asked for it.
STATEMENT_TIMEOUT_S = WORKER_TIMEOUT_S - 30

# What gunicorn refuses itself, with an HTML page, before the API sees a request;
# the API's own limits lie well inside these, so they answer in JSON.
# A request line up to 8 KB (gunicorn's largest finite limit; its default is 4 KB):
# listings with several filters and vars= values run past 4 KB.
LIMIT_REQUEST_LINE = 8190
# A header up to 16 KB: an Idempotency-Key (255 at most), an X-Request-Id (64) or
# an X-Craton-Reason (2,000, cut there) that is too long reaches the API and gets
# its JSON answer rather than gunicorn's 431 page.
LIMIT_REQUEST_FIELD_SIZE = 16384
LIMIT_REQUEST_FIELDS = 100


class Server(BaseApplication):  # type: ignore[misc]
    """Gunicorn, configured from settings; each worker builds its own services and app."""

    def __init__(self, settings: Settings, services_factory: Callable[[], Services],
                 options: dict[str, Any] | None = None):
        self.settings = settings
        self.services_factory = services_factory
        self.options = {"bind": settings.bind, "workers": settings.workers,
                        "accesslog": "-", "timeout": WORKER_TIMEOUT_S,
                        "limit_request_line": LIMIT_REQUEST_LINE,
                        "limit_request_field_size": LIMIT_REQUEST_FIELD_SIZE,
                        "limit_request_fields": LIMIT_REQUEST_FIELDS, **(options or {})}
        self.services: Services | None = None
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            if key in self.cfg.settings and value is not None:
                self.cfg.set(key.lower(), value)
        self.cfg.set("post_fork", self._post_fork)
        self.cfg.set("child_exit", _child_exit)

    def _post_fork(self, server: Any, worker: Any) -> None:
        # Connections opened in the master must not be shared with the workers.
        if self.services is not None:
            self.services.db.dispose(close=False)

    def load(self) -> Any:
        services = self.services_factory()
        services.db.limit_statements(STATEMENT_TIMEOUT_S)
        app = create_app(services)
        # What the worker built to serve lives as long as it does: the cycle
        # collector need not walk it again on every full collection.
        gc.collect()
        gc.freeze()
        return app


def _child_exit(server: Any, worker: Any) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]


def serve(settings: Settings, services_factory: Callable[[], Services],
          options: dict[str, Any] | None = None) -> None:
    """Create the schema and the root user once, then run gunicorn until stopped.

    The workers' metrics go to ``PROMETHEUS_MULTIPROC_DIR`` if it is set (the
    operator's, kept), else to a directory of this server's own, removed as it stops.
    """
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        own, master = tempfile.mkdtemp(prefix="craton-metrics-"), os.getpid()
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = own
        try:
            _run(settings, services_factory, options)
        finally:
            # (a worker leaves through here too, as it exits: it was forked inside run)
            if os.getpid() == master:
                shutil.rmtree(own, ignore_errors=True)
        return
    _run(settings, services_factory, options)


def _run(settings: Settings, services_factory: Callable[[], Services],
         options: dict[str, Any] | None) -> None:
    server = Server(settings, services_factory, options)
    services = services_factory()  # creates the schema before any worker starts
    if settings.root_token:
        ensure_root(services, settings.root_token)
    from . import idempotency

    idempotency.create_table(services)
    server.services = services
    server.run()
