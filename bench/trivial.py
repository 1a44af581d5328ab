"""The baseline app: a trivial Falcon endpoint, served exactly like the API."""

from __future__ import annotations

import falcon


class Ping:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = {"ok": True}


application = falcon.App()
application.add_route("/ping", Ping())
