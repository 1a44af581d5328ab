"""Creating the schema: once, even when several processes start together."""

from __future__ import annotations

import multiprocessing as mp
from collections.abc import Iterator

import pytest
from sqlalchemy import inspect

from craton.bootstrap import bootstrap
from craton.projections.tables import LIVE
from craton.settings import Settings
from tests.conftest import postgres_schema_url


@pytest.fixture
def fresh_postgres() -> Iterator[str]:
    yield from postgres_schema_url()


def _start(url: str, results: mp.Queue) -> None:  # type: ignore[type-arg]
    try:
        svc = bootstrap(Settings(database_url=url))
        svc.close()
        results.put("ok")
    except Exception as exc:  # reported to the test, which fails on it
        results.put(f"{type(exc).__name__}: {exc}")


@pytest.mark.postgres
def test_processes_starting_together_do_not_race(fresh_postgres: str) -> None:
    ctx = mp.get_context("spawn")
    results = ctx.Queue()
    procs = [ctx.Process(target=_start, args=(fresh_postgres, results)) for _ in range(4)]
    for p in procs:
        p.start()
    outcomes = [results.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=30)
    assert outcomes == ["ok"] * 4
    svc = bootstrap(Settings(database_url=fresh_postgres), init=False)
    assert inspect(svc.db.engine).has_table(LIVE.resources.name)
    svc.close()


def test_init_is_idempotent(tmp_path: object) -> None:
    from craton.cli import main

    url = f"sqlite:///{tmp_path}/c.db"
    assert main(["--database-url", url, "init"]) == 0
    assert main(["--database-url", url, "init"]) == 0
