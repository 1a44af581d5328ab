"""The routes a Falcon app serves, read from its router."""

from __future__ import annotations

from typing import Any

import falcon

METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH")


def served(app: falcon.App) -> list[tuple[str, Any, list[str]]]:
    """(uri template, resource, methods with a responder) for every route."""
    out: list[tuple[str, Any, list[str]]] = []

    def walk(nodes: list[Any]) -> None:
        for node in nodes:
            if node.resource is not None:
                methods = [m for m in METHODS if hasattr(node.resource, f"on_{m.lower()}")]
                out.append((node.uri_template, node.resource, methods))
            walk(node.children)

    walk(app._router._roots)
    return out
