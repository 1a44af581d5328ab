"""RabbitMQ for tests: skipped when unreachable, except under CI=true."""

from __future__ import annotations

import os

import pytest

RABBIT_URL = os.environ.get("CRATON_TEST_TRANSPORT_URL", "amqp://guest:guest@127.0.0.1:5672//")


def require_rabbitmq() -> str:
    from kombu import Connection

    try:
        with Connection(RABBIT_URL, connect_timeout=3) as conn:
            conn.ensure_connection(max_retries=1)
    except Exception as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"RabbitMQ is required under CI but unreachable: {exc}")
        pytest.skip(f"RabbitMQ unreachable: {exc}")
    return RABBIT_URL
