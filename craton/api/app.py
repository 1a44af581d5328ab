"""``create_app``: the one place that builds the API."""

from __future__ import annotations

from typing import Any

import falcon

from craton import codec
from craton.bootstrap import Services
from craton.compliance.access_log import install_access_log
from craton.domain.kinds import KINDS

from . import errors, idempotency, openapi
from .compliance import compliance_routes
from .context import Api
from .metrics import Metrics
from .middleware import RequestMiddleware
from .plans import plan_routes
from .resources.devices import AnsibleInventory, Devices
from .resources.history import Diff, Events, History
from .resources.inventory import Collection, Item
from .resources.nested import Facts, Labels, Variables
from .resources.service import Health, MetricsResource, OpenApi, Ready, Root
from .workflows import workflow_routes

Routes = list[tuple[str, Any]]

# The inventory this API serves; runs, findings and plans have routes of their own.
INVENTORY = ("project", "user", "cloud", "region", "cell", "host", "network-device",
             "network", "network-interface", "instance-group", "instance")


def inventory_routes(api: Api) -> Routes:
    routes: Routes = []
    for kind in (KINDS[name] for name in INVENTORY):
        base = f"/v1/{kind.plural}"
        item = f"{base}/{{id}}" if kind.name == "project" else f"{base}/{{id:int}}"
        routes += [(base, Collection(api, kind)), (item, Item(api, kind)),
                   (f"{item}/history", History(api, kind))]
        if kind.variables:
            routes.append((f"{item}/variables", Variables(api, kind)))
        if kind.labels:
            routes.append((f"{item}/labels", Labels(api, kind)))
        if kind.facts:
            routes.append((f"{item}/facts", Facts(api, kind)))
    return routes


def create_app(services: Services) -> falcon.App:
    """The WSGI app over ``services``: routes, middleware, error handling, documents."""
    idempotency.create_table(services)
    install_access_log(services)
    api = Api(services)
    metrics = Metrics()
    app = falcon.App(middleware=[RequestMiddleware(api, metrics)])
    app.req_options.strip_url_path_trailing_slash = True
    # Responses are written by orjson (craton.codec), several times faster on listings.
    app.resp_options.media_handlers[falcon.MEDIA_JSON] = falcon.media.JSONHandler(
        dumps=codec.dumps, loads=codec.loads)
    errors.install(app)
    routes = inventory_routes(api)
    routes += [("/v1/devices", Devices(api)), ("/v1/events", Events(api)),
               ("/v1/diff", Diff(api)), ("/v1/ansible-inventory", AnsibleInventory(api))]
    routes += compliance_routes(api)
    routes += workflow_routes(api)
    routes += plan_routes(api)
    collections = [path for path, _ in routes if path.count("/") == 2]
    routes += [("/v1", Root(collections)), ("/healthz", Health()), ("/readyz", Ready(api)),
               ("/metrics", MetricsResource(metrics))]
    routes.append(("/v1/openapi.json", OpenApi(lambda: openapi.document(routes))))
    for path, resource in routes:
        answer_head(resource)
        app.add_route(path, resource)
    return app


def answer_head(resource: Any) -> None:
    """HEAD answers as GET does (RFC 9110): Falcon drops the body and keeps its length."""
    if hasattr(resource, "on_get") and not hasattr(resource, "on_head"):
        resource.on_head = resource.on_get
