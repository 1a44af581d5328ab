"""Service endpoints: links, health, readiness, metrics and the OpenAPI document."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import falcon
from sqlalchemy import text

from ..context import Api
from ..docs import Op
from ..metrics import CONTENT_TYPE, Metrics
from ..schemas import LinksOut, Status


class Root:
    """``/v1``: links to every collection."""

    public = True

    def __init__(self, collections: list[str]):
        self.collections = collections
        self.docs = {"GET": Op("Links to the collections", None, None, LinksOut,
                               errors=(), public=True)}

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = {"links": [{"rel": name.rsplit("/", 1)[-1], "href": name}
                                for name in self.collections]}


class Health:
    """``/healthz``: the process answers."""

    public = True
    docs = {"GET": Op("The process is up", None, None, Status, errors=(), public=True)}

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = {"status": "ok"}


class Ready:
    """``/readyz``: the database answers."""

    public = True
    docs = {"GET": Op("The database is reachable", None, None, Status, errors=(503,),
                      public=True)}

    def __init__(self, api: Api):
        self.api = api

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        try:
            with self.api.services.db.read_engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception:  # any failure means: not ready
            resp.status = falcon.HTTP_503
            resp.media = {"status": 503, "message": "the database is unreachable"}
            return
        resp.media = {"status": "ok"}


class MetricsResource:
    """``/metrics``: Prometheus text format."""

    public = True
    docs = {"GET": Op("Prometheus metrics", None, None, None, errors=(), public=True,
                      media="text/plain")}

    def __init__(self, metrics: Metrics):
        self.metrics = metrics

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.content_type = CONTENT_TYPE
        resp.data = self.metrics.exposition()


class OpenApi:
    """``/v1/openapi.json``: the document, built from the routes on first use."""

    public = True
    docs = {"GET": Op("This document", None, None, None, errors=(), public=True)}

    def __init__(self, build: Callable[[], dict[str, Any]]):
        self.build = build
        self.document: dict[str, Any] | None = None

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        if self.document is None:
            self.document = self.build()
        resp.media = self.document
