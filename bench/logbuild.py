"""Large logs for the replay, as-of and memory figures, built once and cached.

The fleet (cloud, regions, cells, hosts with labels, variables and facts,
instances) comes first, then variable changes on random hosts until the log
holds the requested number of events. Every host carries every variable key
from its registration on, so the changes replace values and never add keys:
the current state is the same size in every log, and the logs differ only in
length (what figure 8 asks about). Events are appended in batches without
projecting (the store's own append); the read models come from the replay
that the figures measure. A log of N events is the first N events of every
longer log built with the same fleet, so one generation yields every size:
a copy is taken as the log passes each requested size.
"""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from sqlalchemy import Connection, select, text

from bench.appendonly import AppendOnly
from bench.databases import Scratch
from bench.fleet import (
    VARIABLE_KEYS,
    Ticker,
    cell_count,
    change_meta,
    host_item,
    import_meta,
    project_meta,
    skeleton,
    variable_change,
)
from craton.bootstrap import bootstrap
from craton.db import EVENTS_TABLE
from craton.domain import clock
from craton.domain.inventory import AGGREGATES
from craton.domain.resource import Resource
from craton.importer import import_fleet
from craton.projections.tables import LIVE
from craton.settings import Settings

BATCH = 5000
INFO = "bench_log_info"
FORMAT = 3  # bumped whenever what a log holds changes, so old caches are not reused
# (3: every event stamped no earlier than the one recorded before it)


def log_name(kind: str, events: int, hosts: int, instances: int) -> str:
    return f"craton_bench_log{FORMAT}_{hosts}h_{instances}i_{events}"


def _complete(db: Scratch) -> bool:
    if not db.exists():
        return False
    from sqlalchemy import create_engine, inspect

    engine = create_engine(db.url)
    try:
        with engine.connect() as conn:
            if not inspect(conn).has_table(INFO):
                return False
            return bool(conn.execute(text(f"SELECT COUNT(*) FROM {INFO}")).scalar())
    finally:
        engine.dispose()


def _mark_complete(conn: Connection, events: int) -> None:
    conn.execute(text(f"CREATE TABLE IF NOT EXISTS {INFO} (events BIGINT NOT NULL)"))
    conn.execute(text(f"INSERT INTO {INFO} (events) VALUES (:n)"), {"n": events})


def event_count(conn: Connection) -> int:
    return int(conn.execute(text(f"SELECT COUNT(*) FROM {EVENTS_TABLE}")).scalar() or 0)


def _ids_by_name(conn: Connection, kind: str) -> dict[str, int]:
    t = LIVE.resources
    rows = conn.execute(select(t.c.name, t.c.id).where(t.c.kind == kind,
                                                       t.c.valid_to.is_(None)))
    return {name: rid for name, rid in rows}


def ensure_logs(kind: str, sizes: list[int], hosts: int, instances: int,
                log: Any = print) -> dict[int, Scratch]:
    """A database holding the first N events of the log, for each N in ``sizes``."""
    sizes = sorted(sizes)
    dbs = {n: Scratch(kind, log_name(kind, n, hosts, instances)) for n in sizes}
    if all(_complete(db) for db in dbs.values()):
        return dbs
    log(f"building logs of {', '.join(f'{n:,}' for n in sizes)} events on {kind} "
        f"(once; cached)")
    work = Scratch(kind, log_name(kind, 0, hosts, instances) + "_work").create()
    svc = bootstrap(Settings(database_url=work.url))
    try:
        _build(svc, work, dbs, sizes, hosts, instances, log)
    finally:
        svc.close()
    work.drop()
    return dbs


def _build(svc: Any, work: Scratch, dbs: dict[int, Scratch], sizes: list[int],
           hosts: int, instances: int, log: Any) -> None:
    rng = random.Random(11)
    ticker = Ticker(timedelta(seconds=30))
    store = AppendOnly(svc.db)
    with clock.using(ticker):
        project = svc.ledger.register(project_meta(), "project", {"name": "bench"},
                                      variables={"owner": "cloud-ops"})
        meta = import_meta(project["uuid"])
        import_fleet(svc.ledger, meta, skeleton(hosts))
        with svc.db.reading() as conn:
            clouds, regions = _ids_by_name(conn, "cloud"), _ids_by_name(conn, "region")
            cells = _ids_by_name(conn, "cell")
        host_aggs = _hosts(store, meta, hosts, clouds, regions, cells, rng)
        host_ids = [hid for hid, _ in host_aggs]
        _instances(store, meta, instances, host_ids, rng)
        pending = list(sizes)
        total = _count(svc)
        while pending:
            while pending and total >= pending[0]:
                _snapshot(svc, work, dbs[pending.pop(0)], total, log)
            if not pending:
                break
            # Distinct hosts per batch: a batch records each aggregate's events together,
            # so a host changed twice in one would have its second change recorded before
            # changes stamped earlier. A ledger's commands record each change as it is
            # stamped; so does this log.
            todo = min(BATCH, pending[0] - total, len(host_aggs))
            batch = []
            for index in rng.sample(range(len(host_aggs)), todo):
                _hid, agg = host_aggs[index]
                agg.set_variables(change_meta(project["uuid"], rng).as_dict(),
                                  variable_change(rng))
                batch.append(agg)
            before = total
            total += len(store.save(*batch))  # a change to the same value is no event
            if total // 100_000 > before // 100_000:
                log(f"  {total:,} events")


def _count(svc: Any) -> int:
    with svc.db.reading() as conn:
        return event_count(conn)


def _snapshot(svc: Any, work: Scratch, target: Scratch, total: int, log: Any) -> None:
    with svc.db.engine.begin() as conn:
        _mark_complete(conn, total)
    svc.db.dispose()
    work.copy_to(target.name)
    with svc.db.engine.begin() as conn:
        conn.execute(text(f"DELETE FROM {INFO}"))
    log(f"  log of {total:,} events saved as {target.name}")


def _hosts(store: AppendOnly, meta: Any, count: int, clouds: dict[str, int],
           regions: dict[str, int], cells: dict[str, int], rng: random.Random
           ) -> list[tuple[int, Resource]]:
    out: list[tuple[int, Resource]] = []
    n_cells = cell_count(count)
    for start in range(0, count, BATCH // 2):
        batch = []
        for i in range(start, min(count, start + BATCH // 2)):
            item = host_item(i, n_cells, rng)
            every_key = {k: variable_change(rng, k)[k] for k in VARIABLE_KEYS}
            fields = {"name": item["name"], "ip_address": item["ip_address"],
                      "device_type": "server", "cloud_id": clouds[item["cloud"]],
                      "region_id": regions[item["region"]], "cell_id": cells[item["cell"]]}
            agg = AGGREGATES["host"].register(meta.as_dict(), meta.project_id, fields,
                                              {**every_key, **item["variables"]},
                                              item["labels"])
            agg.record_facts(meta.as_dict(), item["facts"])
            batch.append(agg)
        recordings = store.save(*batch)
        firsts = [r.notification.id for r in recordings
                  if r.domain_event.originator_version == 1]
        out += list(zip(firsts, batch, strict=True))
    return out


def _instances(store: AppendOnly, meta: Any, count: int, host_ids: list[int],
               rng: random.Random) -> None:
    for start in range(0, count, BATCH):
        batch = []
        for j in range(start, min(count, start + BATCH)):
            fields = {"name": f"vm-{j:07d}", "host_id": host_ids[rng.randrange(len(host_ids))],
                      "vcpus": rng.choice((1, 2, 4, 8)),
                      "memory_mb": rng.choice((2048, 4096, 8192)),
                      "disk_gb": rng.choice((20, 40, 80)), "flavor": "m1"}
            batch.append(AGGREGATES["instance"].register(meta.as_dict(), meta.project_id,
                                                         fields))
        store.save(*batch)
