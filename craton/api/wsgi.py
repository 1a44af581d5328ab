"""``gunicorn craton.api.wsgi:application``: the app over the environment's settings."""

from __future__ import annotations

from craton.bootstrap import bootstrap

from .app import create_app
from .auth import ensure_root

services = bootstrap()
if services.settings.root_token:
    ensure_root(services, services.settings.root_token)
application = create_app(services)
