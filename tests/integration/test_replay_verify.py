"""A verification compares on one snapshot of the live tables, and writers go on
meanwhile: what they write after that snapshot is not taken for a difference."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import pytest
from sqlalchemy import Connection, func, select

from craton import replay
from craton.bootstrap import Services
from craton.db import Database
from craton.projections.tables import LIVE
from tests.conftest import make_fleet


def _fleet(svc: Services) -> Callable[[str], None]:
    """A small fleet; returns a write that changes its host (a new version of the host,
    a variable, a log entry)."""
    f = make_fleet(svc)
    led, meta, host = svc.ledger, f["meta"], f["host"]["id"]
    led.add_labels(meta, "host", host, ["a", "b"])
    led.set_variables(meta, "host", host, {"n": 0})
    return lambda value: led.set_variables(meta, "host", host, {"n": value})


def _in_thread(run: Callable[[], replay.ReplayResult]
               ) -> tuple[threading.Thread, list[replay.ReplayResult], list[BaseException]]:
    results: list[replay.ReplayResult] = []
    failed: list[BaseException] = []

    def target() -> None:
        try:
            results.append(run())
        except BaseException as exc:
            failed.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    return thread, results, failed


def test_a_write_commits_while_a_verification_compares(
        services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    """The verification pauses in its comparison until a write from another thread
    has committed (or ten seconds have passed): it must not hold the write lock."""
    change = _fleet(services)
    comparing, written = threading.Event(), threading.Event()
    waited: list[bool] = []
    original = replay.compare

    def compare(*args: Any, **kwargs: Any) -> tuple[list[str], int]:
        if not comparing.is_set():  # the first table: the others are compared after the write
            comparing.set()
            waited.append(written.wait(10))
        return original(*args, **kwargs)

    monkeypatch.setattr(replay, "compare", compare)
    thread, results, failed = _in_thread(lambda: replay.verify(services, workers=1))
    try:
        assert comparing.wait(60)
        change(1)
        written.set()
    finally:
        written.set()
        thread.join(60)
    assert not thread.is_alive() and failed == []
    assert waited == [True]  # the write finished before the verification went on
    assert results[0].differences == [] and results[0].difference_count == 0
    assert replay.verify(services, workers=1).differences == []  # with the write, too


def test_writes_after_the_snapshot_are_left_out_of_the_rebuild_too(
        services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    """A write committed after the snapshot is taken but before the scratch tables
    are caught up: the catch-up stops at the snapshot's position."""
    change = _fleet(services)
    original = replay._reader
    opened: list[int] = []

    @contextmanager
    def reader(db: Database) -> Iterator[Connection]:
        with original(db) as conn:
            if not opened:  # the live snapshot: taken, then written past
                conn.execute(select(func.count()).select_from(LIVE.events)).scalar()
                change(len(opened) + 2)
            opened.append(1)
            yield conn

    patched: Callable[[Database], AbstractContextManager[Connection]] = reader
    monkeypatch.setattr(replay, "_reader", patched)
    result = replay.verify(services, workers=1)
    assert opened and result.differences == []


def test_writes_while_the_scratch_tables_fill_are_caught_up(
        services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    change = _fleet(services)
    original = replay.project_into

    def project_into(svc: Services, tables: Any, **kwargs: Any) -> replay.ReplayResult:
        result = original(svc, tables, **kwargs)
        change(3)
        change(4)
        return result

    monkeypatch.setattr(replay, "project_into", project_into)
    assert replay.verify(services, workers=1).differences == []


def test_a_verification_still_finds_what_differs(services: Services) -> None:
    _fleet(services)
    with services.db.writing() as session:  # a forged row the log does not account for
        session.execute(LIVE.variables.update().values(value='"forged"'))
    result = replay.verify(services, workers=1)
    assert result.difference_count > 0
    assert all(d.startswith("variable_versions") for d in result.differences)
