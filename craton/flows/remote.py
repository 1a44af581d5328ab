"""Across machines: tasks go over RabbitMQ (kombu) to ``craton worker --executor`` processes."""

from __future__ import annotations

from typing import Any

from craton.bootstrap import Services
from craton.flows.runtime import Runtime, install

EXCHANGE = "craton-flows"
TOPIC = "craton-steps"
TRANSITION_TIMEOUT = 120.0  # a step nobody picks up fails instead of waiting forever
TASK_MODULES = ["craton.flows.moves", "craton.flows.evacuate", "craton.flows.audit"]


def engine_settings(transport_url: str | None) -> tuple[str, dict[str, Any]]:
    """The TaskFlow engine a worker uses: local, or worker-based over the transport."""
    if not transport_url:
        return "serial", {}
    return "worker-based", {"url": transport_url, "exchange": EXCHANGE, "topics": [TOPIC],
                            "transition_timeout": TRANSITION_TIMEOUT}


def build_executor(services: Services, transport_url: str, threads: int = 1) -> Any:
    """A TaskFlow remote worker that executes the steps of any run in this database."""
    from taskflow.engines.worker_based.worker import Worker as RemoteWorker

    install(Runtime(services))
    return RemoteWorker(exchange=EXCHANGE, topic=TOPIC, tasks=TASK_MODULES,
                        url=transport_url, threads_count=threads)


def serve_executor(services: Services, transport_url: str) -> None:
    """Execute remote steps until the process is stopped."""
    build_executor(services, transport_url).run()
