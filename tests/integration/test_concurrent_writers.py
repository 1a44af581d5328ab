"""Several processes writing to one database at once: no lost update, no gap."""

from __future__ import annotations

import multiprocessing as mp

from craton import replay
from craton.bootstrap import Services, bootstrap
from craton.domain.errors import Conflict, VersionMismatch
from craton.domain.meta import Meta
from craton.projections import listing
from craton.proofs import verify_ledger
from craton.settings import Settings
from tests.conftest import make_fleet

PROCESSES, ROUNDS = 4, 10


def _writer(url: str, project: str, host_id: int, region_id: int, n: int,
            results: mp.Queue) -> None:  # type: ignore[type-arg]
    svc = bootstrap(Settings(database_url=url), init=False)
    meta = Meta(actor_id=n, actor_name=f"writer-{n}", source="cli", project_id=project)
    outcome = {"increments": 0, "stale": 0, "taken": 0, "created": 0}
    for i in range(ROUNDS):
        with svc.db.writing():  # read-modify-write of one host, serialised
            aggregate, _ = svc.ledger._load(meta, "host", host_id)
            count = aggregate.variables.get("count", 0)
            svc.ledger.set_variables(meta, "host", host_id, {"count": count + 1})
        outcome["increments"] += 1
        # Optimistic writes: the version read before may be stale by the time it lands.
        with svc.db.reading() as conn:
            version = listing.get_row(conn, "host", host_id, None, None).version
        try:
            svc.ledger.set_variables(meta, "host", host_id, {f"w{n}": i},
                                     expected_version=version)
        except VersionMismatch:
            outcome["stale"] += 1
        try:  # every writer races to create the same names
            svc.ledger.register(meta, "host", {"name": f"race-{i}", "region_id": region_id})
            outcome["created"] += 1
        except Conflict:
            outcome["taken"] += 1
    svc.close()
    results.put(outcome)


def test_concurrent_processes_lose_no_update(services: Services, database_url: str) -> None:
    f = make_fleet(services)
    ctx = mp.get_context("spawn")
    results = ctx.Queue()
    procs = [ctx.Process(target=_writer, args=(
        database_url, f["project"]["uuid"], f["host"]["id"], f["region"]["id"], n, results))
        for n in range(PROCESSES)]
    for p in procs:
        p.start()
    outcomes = [results.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=30)
        assert p.exitcode == 0
    with services.db.reading() as conn:
        row = listing.get_row(conn, "host", f["host"]["id"], None, None)
        from craton.projections.tables import LIVE
        from craton.projections.variables import values_of

        count = values_of(conn, LIVE.variables, [row.id], None)[row.id]["count"]
        stored = conn.exec_driver_sql("SELECT count(*) FROM craton_events").scalar_one()
        projected = conn.exec_driver_sql("SELECT count(*) FROM event_log").scalar_one()
    assert count == PROCESSES * ROUNDS
    assert sum(o["created"] for o in outcomes) == ROUNDS  # each name created exactly once
    assert sum(o["taken"] for o in outcomes) == ROUNDS * (PROCESSES - 1)
    assert stored == projected
    assert replay.verify(services).differences == []
    assert verify_ledger(services).ok
