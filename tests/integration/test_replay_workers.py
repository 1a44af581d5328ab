"""A rebuild split between processes: the same rows as one process, and all or nothing."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Connection, func, inspect, select, text

from craton import replay
from craton.bootstrap import Services
from craton.projections import indexing
from craton.projections.projector import Projector
from craton.projections.tables import LIVE, LOOKUP_INDEXES, TOGETHER
from tests.conftest import make_fleet


def _history(svc: Services) -> None:
    """Many aggregates, each with several events, deletes and regroupings among them."""
    f = make_fleet(svc)
    led, meta = svc.ledger, f["meta"]
    hosts = [led.register(meta, "host", {"name": f"h{n}", "region_id": f["region"]["id"]},
                          variables={"n": n}, labels=[f"l{n % 3}"]) for n in range(24)]
    for round_ in range(3):
        for host in hosts:
            led.set_variables(meta, "host", host["id"], {"round": round_, "n": host["id"]})
    for host in hosts[::5]:
        led.delete(meta, "host", host["id"])
    led.add_labels(meta, "host", hosts[1]["id"], ["late"])


def _counts(svc: Services) -> dict[str, int]:
    with svc.db.reading() as conn:
        return {t.name: int(conn.execute(select(func.count()).select_from(t)).scalar() or 0)
                for t in LIVE.rebuildable}


def test_rebuild_in_several_processes_matches_one(services: Services) -> None:
    if replay.replay_workers(services, 3) == 1:
        pytest.skip("an in-memory database is replayed in one process")
    _history(services)
    replay.rebuild(services, workers=3)
    assert replay.verify(services, workers=1).differences == []
    assert replay.verify(services, workers=2).differences == []


def test_a_failing_share_fails_the_rebuild_and_leaves_the_live_tables(
        services: Services, monkeypatch: pytest.MonkeyPatch,
        capfd: pytest.CaptureFixture[str]) -> None:
    if replay.replay_workers(services, 2) == 1:
        pytest.skip("an in-memory database is replayed in one process")
    _history(services)
    before = _counts(services)
    original = Projector.project

    def project(self: Projector, batch: Any, events: Any) -> None:
        if any(e.originator_version > 3 for _, e in events):  # only some shares meet one
            raise RuntimeError("disk full")
        original(self, batch, events)

    monkeypatch.setattr(Projector, "project", project)  # inherited by the forked workers
    with pytest.raises(replay.ReplayFailed, match="disk full"):
        replay.rebuild(services, workers=2)
    assert "Traceback" not in capfd.readouterr().err  # the workers print nothing of their own
    monkeypatch.undo()
    assert _counts(services) == before
    assert replay.verify(services).differences == []


def test_rebuilt_tables_keep_their_names_and_keys_rebuild_after_rebuild(
        services: Services) -> None:
    _history(services)
    for _ in range(3):
        replay.rebuild(services)
        assert replay.verify(services).differences == []
    if services.db.is_postgres:
        with services.db.reading() as conn:
            keys = dict(conn.execute(text(
                "SELECT conrelid::regclass::text, conname FROM pg_constraint "
                "WHERE contype = 'p' AND connamespace = current_schema()::regnamespace"
            )).all())
        for table in LIVE.rebuildable:
            if table.primary_key.columns:
                assert keys[table.name] == f"{table.name}_pkey"
        with services.db.reading() as conn:
            statistics = set(conn.execute(text(
                "SELECT stxname FROM pg_statistic_ext")).scalars())
        assert statistics == {f"{name}_together" for name in TOGETHER}
        with services.db.reading() as conn:  # analysed: the planner knows them at once
            analysed = set(conn.execute(text(
                "SELECT DISTINCT tablename FROM pg_stats WHERE schemaname = current_schema()"
            )).scalars())
        assert {"resource_versions", "variable_versions", "event_log"} <= analysed
    with services.db.reading() as conn:
        for table in LIVE.rebuildable:  # the live names, not the scratch ones
            assert _index_names(conn, table.name) == {i.name for i in table.indexes}
        assert not [t for t in inspect(conn).get_table_names()
                    if t.startswith(replay.SCRATCH)]


def _index_names(conn: Connection, table: str) -> set[str]:
    """Every index of a table but its primary key's (expression indexes included,
    which SQLAlchemy's SQLite inspector leaves out)."""
    if conn.dialect.name == "postgresql":
        found = conn.execute(text(
            "SELECT indexname FROM pg_indexes WHERE tablename = :t"), {"t": table}).scalars()
        return set(found) - {f"{table}_pkey"}
    return set(conn.execute(text(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = :t "
        "AND sql IS NOT NULL"), {"t": table}).scalars())


def test_a_failing_index_build_stops_the_rest_and_leaves_the_live_tables(
        services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    if not services.db.is_postgres:
        pytest.skip("indexes are built before the swap on PostgreSQL only")
    _history(services)
    before = _counts(services)
    built: list[str] = []
    original = indexing._make_index

    def make_index(engine: Any, table: Any, index: Any) -> None:
        built.append(index.name)
        if len(built) == 1:
            raise RuntimeError("no space left on device")
        original(engine, table, index)

    monkeypatch.setattr(indexing, "_make_index", make_index)
    scratch = replay._fresh(services, replay.SCRATCH)
    replay.project_into(services, scratch, workers=1)
    with pytest.raises(RuntimeError, match="no space left"):
        indexing.prepare(services.db.engine, scratch, replay.SCRATCH, workers=1)
    total = sum(len(t.indexes) for t in LIVE.rebuildable) - len(LOOKUP_INDEXES)
    assert len(built) <= 2 < total  # the queued builds were cancelled, not run
    built.clear()
    with pytest.raises(RuntimeError, match="no space left"):
        replay.rebuild(services)
    monkeypatch.undo()
    assert _counts(services) == before
    assert replay.verify(services).differences == []


def test_rebuilt_tables_are_vacuumed_so_index_only_scans_skip_the_heap(
        services: Services) -> None:
    if not services.db.is_postgres:
        pytest.skip("only PostgreSQL keeps a visibility map")
    _history(services)
    replay.rebuild(services, workers=1)
    # (Whether every page is then all-visible also depends on the snapshots other
    # sessions hold: the vacuum having run on the swapped-in tables is what is ours.)
    with services.db.engine.connect() as conn:
        vacuumed = dict(conn.execute(text(
            "SELECT relname, vacuum_count FROM pg_stat_user_tables "
            "WHERE schemaname = current_schema() AND relname IN "
            "('event_log', 'resource_versions', 'variable_versions')")).all())
    assert vacuumed == {"event_log": 1, "resource_versions": 1, "variable_versions": 1}


@pytest.mark.parametrize("batch_size", [1, 4, 1000])
def test_the_shares_read_every_event_once_whatever_the_batch(
        services: Services, batch_size: int) -> None:
    """Each share reads windows of positions; windows where a share has no event
    are passed over, not taken for the end of the log."""
    _history(services)
    with services.db.reading() as conn:
        every = [r.id for rows in replay.stored_batches(conn, 0, 50) for r in rows]
        shares = [replay.Share(k, 3) for k in range(3)]
        read = {s.index: [r.id for rows in replay.stored_batches(conn, 0, batch_size,
                                                                 share=s) for r in rows]
                for s in shares}
        upto = every[len(every) // 2]
        half = [r.id for s in shares
                for rows in replay.stored_batches(conn, 0, batch_size, upto, s) for r in rows]
    assert len(every) > 100
    assert sorted(i for ids in read.values() for i in ids) == every
    assert all(ids == sorted(ids) and ids for ids in read.values())
    assert sorted(half) == [i for i in every if i <= upto]
