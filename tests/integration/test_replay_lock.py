"""One replay of a database at a time: a second is refused up front, in one line, and
touches neither the live tables nor the first one's scratch tables."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, inspect, select, text, update

from craton import replay
from craton.bootstrap import Services, bootstrap
from craton.cli import main, rebuild_if_needed
from craton.projections.tables import LIVE, build_tables
from craton.schema import REPLAY_LOCK
from craton.settings import Settings
from tests.conftest import make_fleet, postgres_schema_url, write_lock_held


def _history(svc: Services) -> None:
    f = make_fleet(svc)
    led, meta = svc.ledger, f["meta"]
    for n in range(8):
        host = led.register(meta, "host", {"name": f"h{n}", "region_id": f["region"]["id"]},
                            variables={"n": n}, labels=[f"l{n % 3}"])
        led.set_variables(meta, "host", host["id"], {"n": n + 1})


def _counts(svc: Services, prefix: str = "") -> dict[str, int]:
    tables = build_tables(prefix, lean=True)
    with svc.db.reading() as conn:
        return {t.name: int(conn.execute(select(func.count()).select_from(t)).scalar() or 0)
                for t in tables.rebuildable}


def _table_names(svc: Services) -> set[str]:
    with svc.db.engine.connect() as conn:
        return set(inspect(conn).get_table_names())


def test_a_replay_is_refused_while_another_holds_the_lock(services: Services) -> None:
    _history(services)
    before, names = _counts(services), _table_names(services)
    with replay.replay_lock(services.db):
        for run in (replay.rebuild, replay.verify):
            with pytest.raises(replay.ReplayRunning) as refused:
                run(services, workers=1)
            assert str(refused.value) == replay.REPLAY_RUNNING
            assert "\n" not in replay.REPLAY_RUNNING
        assert _table_names(services) == names  # no scratch table made, none dropped
        assert _counts(services) == before
    replay.rebuild(services, workers=1)  # once released, the next one runs
    assert replay.verify(services, workers=1).differences == []


def test_a_second_rebuild_leaves_the_first_ones_scratch_tables_alone(
        services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    """The first rebuild pauses with its scratch tables filled; a second one started
    then is refused, and the first goes on to swap in a whole rebuild."""
    _history(services)
    before = _counts(services)
    filled, go = threading.Event(), threading.Event()
    original = replay.project_into

    def project_into(svc: Services, tables: Any, **kwargs: Any) -> replay.ReplayResult:
        result = original(svc, tables, **kwargs)
        filled.set()
        assert go.wait(60)
        return result

    monkeypatch.setattr(replay, "project_into", project_into)
    failed: list[BaseException] = []

    def first() -> None:
        try:
            replay.rebuild(services, workers=1)
        except BaseException as exc:
            failed.append(exc)

    thread = threading.Thread(target=first)
    thread.start()
    try:
        assert filled.wait(60)
        scratch = _counts(services, replay.SCRATCH)
        assert scratch == {replay.SCRATCH + name: n for name, n in before.items()}
        with pytest.raises(replay.ReplayRunning):
            replay.rebuild(services, workers=1)
        with pytest.raises(replay.ReplayRunning):
            replay.verify(services, workers=1)
        assert _counts(services, replay.SCRATCH) == scratch
        assert _counts(services) == before
    finally:
        go.set()
        thread.join(60)
    assert not thread.is_alive() and failed == []
    monkeypatch.undo()
    assert _counts(services) == before
    assert replay.verify(services, workers=1).differences == []


def test_the_lock_is_let_go_when_a_rebuild_fails(
        services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    _history(services)

    def project_into(*args: Any, **kwargs: Any) -> replay.ReplayResult:
        raise RuntimeError("disk full")

    monkeypatch.setattr(replay, "project_into", project_into)
    with pytest.raises(RuntimeError, match="disk full"):
        replay.rebuild(services, workers=1)
    monkeypatch.undo()
    replay.rebuild(services, workers=1)
    assert replay.verify(services, workers=1).differences == []


HOLDER = """
import sys
from craton import replay
from craton.db import Database
db = Database(sys.argv[1])
with replay.replay_lock(db):
    print("held", flush=True)
    sys.stdin.read()
"""


def _holder(url: str) -> subprocess.Popen[str]:
    """Another process holding the replay lock of the database at ``url``."""
    process = subprocess.Popen([sys.executable, "-c", HOLDER, url], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "held"
    return process


def _rebuilds_soon(svc: Services) -> None:
    """The server lets a dead client's lock go once it notices the connection closed."""
    deadline = time.monotonic() + 20
    while True:
        try:
            replay.rebuild(svc, workers=1)
            return
        except replay.ReplayRunning:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_a_replay_in_another_process_refuses_this_one_until_it_dies(
        services: Services, database_url: str) -> None:
    _history(services)
    before = _counts(services)
    holder = _holder(database_url)
    try:
        with pytest.raises(replay.ReplayRunning):
            replay.rebuild(services, workers=1)
        assert _counts(services) == before
    finally:
        holder.send_signal(signal.SIGKILL)  # no chance to let go: the lock goes with it
        holder.communicate(timeout=30)
    _rebuilds_soon(services)
    assert replay.verify(services, workers=1).differences == []


def test_the_command_refuses_in_one_line(
        services: Services, database_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    _history(services)
    before = _counts(services)
    with replay.replay_lock(services.db):
        for args in (["replay"], ["replay", "--verify"], ["replay", "--workers", "2"]):
            assert main(["--database-url", database_url, *args]) == 2
            said = capsys.readouterr()
            assert said.err == f"craton: {replay.REPLAY_RUNNING}\n"
            assert said.out == ""
    assert _counts(services) == before
    assert main(["--database-url", database_url, "replay", "--verify"]) == 0
    assert "0 differences" in capsys.readouterr().out


def _older_schema(svc: Services) -> None:
    with svc.db.writing() as session:  # as if written by an older version
        session.execute(update(LIVE.state).where(LIVE.state.c.name == "schema_version")
                        .values(value=0))


def test_the_rebuild_for_a_new_schema_version_takes_the_lock_too(
        services: Services, database_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    _history(services)
    _older_schema(services)
    before = _counts(services)
    with replay.replay_lock(services.db):
        with pytest.raises(replay.ReplayRunning):
            rebuild_if_needed(services, patience=0.6)  # waited, then gave up
        said = capsys.readouterr().err
        assert "another process is rebuilding them: waiting for it" in said
        assert replay.needs_rebuild(services)
        assert _counts(services) == before
    rebuild_if_needed(services)
    assert not replay.needs_rebuild(services)
    assert replay.verify(services, workers=1).differences == []


def test_a_second_start_waits_for_the_rebuild_another_is_running(
        services: Services, database_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    _history(services)
    _older_schema(services)
    holding, done = threading.Event(), threading.Event()

    def first_server() -> None:  # holds the lock a moment, then rebuilds under it
        with replay.replay_lock(services.db):
            holding.set()
            time.sleep(1.0)
            replay._rebuild_locked(services)  # (as rebuild does, holding the lock)
        done.set()

    thread = threading.Thread(target=first_server)
    thread.start()
    try:
        assert holding.wait(30)
        capsys.readouterr()
        assert main(["--database-url", database_url, "init"]) == 0
        said = capsys.readouterr().err
        assert "waiting for it" in said and "rebuilt read models" not in said
        assert done.is_set()  # init went on only once the other had finished
    finally:
        thread.join()
    assert not replay.needs_rebuild(services)


@pytest.fixture
def other_services(database_url: str, tmp_path: Path) -> Iterator[Services]:
    """Services on another database of the same kind (another schema on PostgreSQL)."""
    if database_url.startswith("sqlite"):
        urls: Iterator[str] = iter([f"sqlite:///{tmp_path / 'other.db'}"])
    else:
        urls = postgres_schema_url()
    svc = bootstrap(Settings(database_url=next(urls)))
    try:
        yield svc
    finally:
        svc.close()
        next(urls, None)  # (drops the schema)


def test_a_replay_of_one_database_does_not_hold_up_another(
        services: Services, other_services: Services) -> None:
    _history(other_services)
    with replay.replay_lock(services.db):
        replay.rebuild(other_services, workers=1)
        assert replay.verify(other_services, workers=1).differences == []


def test_a_lost_lock_connection_takes_its_lock_with_it(services: Services) -> None:
    """PostgreSQL: the server lets go of a session's advisory lock when the session
    ends; the replay that held it then ends without a word about the unlock."""
    if not services.db.is_postgres:
        pytest.skip("the SQLite lock is the process's: see the test with another process")
    _history(services)
    with replay.replay_lock(services.db):
        with services.db.engine.connect() as conn:
            holder = conn.execute(text(
                "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
                "AND classid = :k AND objid = CAST(current_schema() AS regnamespace)"),
                {"k": REPLAY_LOCK}).scalar_one()
            conn.execute(text("SELECT pg_terminate_backend(:p)"), {"p": holder})
            conn.commit()
        _rebuilds_soon(services)
    replay.rebuild(services, workers=1)
    assert replay.verify(services, workers=1).differences == []


@pytest.mark.postgres
def test_a_finished_rebuild_waits_for_the_write_lock_to_swap_its_tables_in(
        services: Services, database_url: str, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite's busy timeout is the connection's, 30 s")
    import craton.db

    monkeypatch.setattr(craton.db, "WRITE_WAIT_S", 0.2)
    _history(services)
    with write_lock_held(services) as release:  # an import, say, holding it a while
        timer = threading.Timer(5.0, release.set)
        timer.start()
        result = replay.rebuild(services, workers=1)
        timer.join()
    assert "waiting for the write lock to swap the rebuilt tables in" in capsys.readouterr().err
    assert result.events > 0
    assert replay.verify(services, workers=1).differences == []
