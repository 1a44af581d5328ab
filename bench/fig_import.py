"""Figure 3: bulk import against the store's own append rate for the same events."""

from __future__ import annotations

from typing import Any

from bench.appendonly import AppendOnly
from bench.config import Sizes
from bench.databases import Scratch, settle
from bench.fleet import document, import_meta, project_meta, skeleton
from bench.logbuild import event_count
from bench.model import Figure, Measurement, Target
from bench.profiling import profile
from bench.stats import now
from craton.bootstrap import Services, bootstrap
from craton.domain.inventory import AGGREGATES
from craton.domain.meta import Meta
from craton.import_document import GROUPS, NAMED, read_item
from craton.importer import ORDER, import_fleet
from craton.projections.tables import LIVE
from craton.settings import Settings

IMPORT_DB = "craton_bench_import"


def _fresh(kind: str, name: str) -> tuple[Scratch, Services, Meta]:
    db = Scratch(kind, name).create()
    svc = bootstrap(Settings(database_url=db.url))
    project = svc.ledger.register(project_meta(), "project", {"name": "bench"})
    return db, svc, import_meta(project["uuid"])


def _count(svc: Services) -> int:
    with svc.db.reading() as conn:
        return event_count(conn)


def run_import(kind: str, doc: dict[str, Any], batch: int, name: str = IMPORT_DB
               ) -> tuple[float, int, Scratch]:
    """Seconds and events of ``import_fleet`` on a fresh database (kept for the HTTP figures)."""
    db, svc, meta = _fresh(kind, name)
    try:
        before = _count(svc)
        start = now()
        import_fleet(svc.ledger, meta, doc, batch_size=batch)
        seconds = now() - start
        return seconds, _count(svc) - before, db
    finally:
        svc.close()


def run_append(kind: str, doc: dict[str, Any], batch: int) -> tuple[float, int]:
    """The same events (aggregates made from the same document) appended, no projection."""
    db, svc, meta = _fresh(kind, "craton_bench_append")
    try:
        import_fleet(svc.ledger, meta, {k: v for k, v in doc.items()
                                        if k in ("clouds", "regions", "cells")})
        names = _names(svc)
        store = AppendOnly(svc.db, chain=False)
        before = _count(svc)
        start = now()
        for kind_name in ("host", "instance"):
            plural = "hosts" if kind_name == "host" else "instances"
            raw = doc.get(plural, [])
            for first in range(0, len(raw), batch):
                aggregates = []
                for item in raw[first:first + batch]:
                    resolved = resolve_names(kind_name, item, names)
                    agg = AGGREGATES[kind_name].register(
                        meta.as_dict(), meta.project_id, resolved["fields"],
                        resolved["variables"], resolved["labels"])
                    if resolved["facts"]:
                        agg.record_facts(meta.as_dict(), resolved["facts"])
                    aggregates.append(agg)
                recordings = store.save(*aggregates)
                if kind_name == "host":
                    names.setdefault("host", {}).update({
                        a.fields["name"]: r.notification.id
                        for a, r in zip(aggregates, [x for x in recordings
                                                     if x.domain_event.originator_version == 1],
                                        strict=True)})
        seconds = now() - start
        return seconds, _count(svc) - before
    finally:
        svc.close()
        db.drop()


def _names(svc: Services) -> dict[str, dict[str, int]]:
    from sqlalchemy import select

    t = LIVE.resources
    out: dict[str, dict[str, int]] = {}
    with svc.db.reading() as conn:
        for kind, name, rid in conn.execute(select(t.c.kind, t.c.name, t.c.id).where(
                t.c.valid_to.is_(None), t.c.kind.in_(ORDER))):
            out.setdefault(kind, {})[name] = rid
    return out


def measure(kind: str, sizes: Sizes, log: Any) -> tuple[Figure, Scratch]:
    fig = Figure(3)
    doc = document(sizes.hosts, sizes.instances)
    log(f"  fig 3: append baseline, {sizes.hosts:,} hosts and {sizes.instances:,} instances")
    base_s, base_n = run_append(kind, doc, sizes.import_batch)
    log(f"  fig 3: import_fleet of the same ({base_n:,} events appended in {base_s:.1f} s)")
    if kind == "postgres":  # each side starts from a checkpoint, as the baseline did
        settle(log)
    imp_s, imp_n, db = run_import(kind, doc, sizes.import_batch)
    log(f"  fig 3: import took {imp_s:.1f} s for {imp_n:,} events")
    m = Measurement("import rate", "events/s", imp_n / imp_s, base_n / base_s,
                    "store append, same events, no projection", Target(">=", 0.5))
    fig.measurements.append(m)
    fig.details = {"hosts": sizes.hosts, "instances": sizes.instances,
                   "import_events": imp_n, "import_seconds": round(imp_s, 2),
                   "append_events": base_n, "append_seconds": round(base_s, 2),
                   "batch_size": sizes.import_batch, "skeleton": len(skeleton(sizes.hosts))}
    if not m.met:
        part = document(max(200, sizes.hosts // 20), max(2000, sizes.instances // 20))
        log("  fig 3: target missed; profiling a twentieth of the import")
        fig.profile, _ = profile(lambda: run_import(kind, part, sizes.import_batch,
                                                    "craton_bench_import_profile"))
        Scratch(kind, "craton_bench_import_profile").drop()
    return fig, db


def resolve_names(kind: str, item: dict[str, Any], names: dict[str, dict[str, int]]
                   ) -> dict[str, Any]:
    """One item as ``register_many`` takes it, each name it gives looked up in ``names``
    (``device``, ``host``, ``cell``...: name -> id): the baseline registers items itself."""
    entry = read_item(kind, 0, item)
    ids: dict[str, Any] = {NAMED[key]: names["device" if key in ("parent", "device") else key][n]
                           for key, n in entry.names.items()}
    if entry.groups is not None:
        ids[GROUPS] = [names["instance-group"][g] for g in entry.groups]
    return entry.item(ids)
