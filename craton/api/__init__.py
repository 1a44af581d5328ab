"""The REST API (v1): Falcon resources, marshmallow schemas, auth."""

from __future__ import annotations

from .app import create_app

__all__ = ["create_app"]
