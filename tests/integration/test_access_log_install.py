"""API workers that start together each install the access log: none fails."""

from __future__ import annotations

import threading

from sqlalchemy import inspect

from craton.bootstrap import Services
from craton.compliance.access_log import install_access_log


def test_workers_starting_together_install_the_access_log_once(services: Services) -> None:
    start = threading.Barrier(4)
    failures: list[BaseException] = []

    def worker() -> None:
        start.wait()
        try:
            install_access_log(services)
        except BaseException as exc:  # reported below
            failures.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    assert inspect(services.db.engine).has_table("access_log")
