"""The baseline apps, served exactly like the API: a trivial Falcon endpoint, and the
raw transaction behind one.

``GET /ping`` does nothing. ``PUT /raw`` reads a JSON body, as a change does, and
runs figure 1's raw transaction (lock the event table, insert two rows, commit) on
the raw store named by ``BENCH_RAW_KIND`` ("postgres" or "sqlite"), one connection
per gunicorn worker: what an HTTP change costs at the very least, whatever it does.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import falcon


class Ping:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = {"ok": True}


class RawChange:
    def __init__(self) -> None:
        self._transaction: Callable[[], None] | None = None

    def on_put(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = req.get_media()
        if not isinstance(body, dict):
            raise falcon.HTTPBadRequest(description="a JSON object is expected")
        if self._transaction is None:  # in the worker, after the fork
            from bench.raw import RawStore

            kind = os.environ.get("BENCH_RAW_KIND")
            if kind not in ("postgres", "sqlite"):
                raise falcon.HTTPServiceUnavailable(description="BENCH_RAW_KIND is not set")
            self._transaction = RawStore.existing(kind).transaction()
        self._transaction()
        resp.media = {"ok": True}


application = falcon.App()
application.add_route("/ping", Ping())
application.add_route("/raw", RawChange())
