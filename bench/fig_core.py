"""Figures 4, 6, 7, the replay half of 8, and the growth series, on the cached logs."""

from __future__ import annotations

from typing import Any

from bench import fig_asof
from bench.config import Sizes
from bench.databases import Scratch, settle
from bench.fig_replay import profile_replay, read_rate, replay, runner_rate, warm_log
from bench.logbuild import ensure_logs
from bench.model import Figure, Measurement, Run, Target
from bench.stats import median
from craton.db import EVENTS_TABLE

MIB = 1024 * 1024


def logs(kind: str, sizes: Sizes, log: Any) -> dict[int, Scratch]:
    wanted = sorted({*sizes.growth, sizes.log_events, sizes.log_events // 10})
    return ensure_logs(kind, wanted, sizes.log_hosts, sizes.log_instances, log)


def projected(dbs: list[Scratch], log: Any) -> None:
    """Replay each log whose read models are behind its events (a log built but
    never replayed: figure 5 asked for alone) or were built by another schema version
    (a log cached by an earlier run), so a served log lists its fleet."""
    from sqlalchemy import create_engine, func, select

    from craton.projections.tables import LIVE, SCHEMA_VERSION
    from craton.schema import stored_schema_version

    for db in dbs:
        engine = create_engine(db.url)
        try:
            with engine.connect() as conn:
                stored = conn.execute(select(func.max(LIVE.events.c.position))).scalar()
                logged = conn.exec_driver_sql(
                    f"SELECT max(id) FROM {EVENTS_TABLE}").scalar()
                version = stored_schema_version(conn)
        finally:
            engine.dispose()
        if (stored or 0) < (logged or 0) or version != SCHEMA_VERSION:
            why = "behind its log" if (stored or 0) < (logged or 0) else \
                f"of schema version {version}, not {SCHEMA_VERSION}"
            log(f"  projecting {db.name} first (its read models are {why})")
            replay(db)
            if db.kind == "postgres":
                reset_sequences(db)


def growth(run: Run, dbs: dict[int, Scratch], sizes: Sizes, log: Any) -> dict[int, Any]:
    """Replay every log (which also builds its read models), then time as-of on each."""
    replays: dict[int, Any] = {}
    for events, db in sorted(dbs.items()):
        # From a checkpoint, with the log read once, as figure 4's read baseline starts.
        if db.kind == "postgres":
            settle(log)
        warm_log(db)
        log(f"  replay of the {events:,}-event log (scripts/replay.py)")
        result = replay(db)
        replays[events] = result
        if db.kind == "postgres" and reset_sequences(db):
            note = ("After `scripts/replay.py` on PostgreSQL the read-model tables' row_id "
                    "sequences are left behind the copied rows, so the next write fails "
                    "(duplicate key, reported as a concurrent write). The suite moves the "
                    "sequences on before serving the replayed databases.")
            if note not in run.notes:
                run.notes.append(note)
        entry = {"events": result["events"] or events,
                 "replay_s": round(result["seconds"], 2),
                 "replay_rate": round((result["events"] or events) / result["seconds"], 1),
                 "replay_peak_mib": round(result["peak_mib"], 1),
                 "events_table_mib": round(db.size_bytes(EVENTS_TABLE) / MIB, 2),
                 "database_mib": round(db.size_bytes() / MIB, 1)}
        if events in sizes.growth:
            svc = fig_asof._svc(db)
            try:
                times = fig_asof.fleet_timings(svc, sizes.log_hosts, 1)
            finally:
                svc.close()
            entry["as_of_s"] = round(median(times["as_of"]), 3)
            entry["current_s"] = round(median(times["current"]), 3)
            run.growth.append(entry)
        log(f"    {entry}")
    return replays


def replay_figure(db: Scratch, small: Scratch, result: dict[str, Any], sizes: Sizes,
                  log: Any) -> Figure:
    fig = Figure(4)
    events = result["events"]
    rate = events / result["seconds"]
    log("  fig 4: read baseline (every notification read and decoded, no projection)")
    read_s, read_n = read_rate(db)
    log(f"  fig 4: ProjectionRunner baseline over {sizes.runner_events:,} events")
    runner, how = runner_rate(db, sizes.runner_events)
    fig.measurements += [
        Measurement("replay rate", "events/s", rate, read_n / read_s,
                    "reading and decoding the same notifications, no projection, in one "
                    f"process (the replay used {result.get('workers', 1)})",
                    Target(">=", 0.5)),
        Measurement("replay rate", "events/s", rate, runner,
                    f"{how} driving the same projector, one event per transaction, "
                    f"in one process, over the log's first {sizes.runner_events:,} events "
                    "(registrations and facts, not the variable changes most of the log is; rate "
                    "extrapolated)", Target(">=", 50)),
    ]
    fig.details = {"events": events, "replay_s": round(result["seconds"], 1),
                   "read_s": round(read_s, 1), "runner_events": sizes.runner_events,
                   "replay_output": result.get("message", "")}
    if not fig.met:
        log(f"  fig 4: target missed; profiling scripts/replay.py on {small.name}")
        fig.profile = profile_replay(small)
    return fig


def memory_figure(replays: dict[int, Any], sizes: Sizes) -> Figure:
    fig = Figure(8)
    big, small = sizes.log_events, sizes.log_events // 10
    if big in replays and small in replays:
        fig.measurements.append(Measurement(
            "replay peak RSS", "MiB", replays[big]["peak_mib"], replays[small]["peak_mib"],
            f"the same replay of a log of {small:,} events", Target("<=", 1.25)))
    fig.details["replay_log_events"] = [small, big]
    return fig


def measure(run: Run, kind: str, sizes: Sizes, log: Any, only: set[int]) -> None:
    dbs = logs(kind, sizes, log)
    replays = growth(run, dbs, sizes, log)
    biggest = dbs[sizes.log_events]
    smallest = dbs[min(dbs)]
    steps = [(4, lambda: replay_figure(biggest, smallest, replays[sizes.log_events], sizes,
                                       log)),
             (6, lambda: fig_asof.measure_fleet(biggest, sizes, log)),
             (7, lambda: fig_asof.measure_host(biggest, sizes, log)),
             (8, lambda: memory_figure(replays, sizes))]
    for number, step in steps:
        if number in only:
            guarded(run, number, step, log)


def guarded(run: Run, number: int, step: Any, log: Any) -> None:
    """Run one figure (on PostgreSQL once the server's background work is done); a
    failure is recorded in the report, and the suite goes on."""
    try:
        if run.database == "postgres":
            settle(log)
        fig = step()
        existing = run.figures.get(number)
        if existing is not None and existing is not fig:  # figure 8 gathers from two places
            existing.measurements += fig.measurements
            existing.details.update(fig.details)
        else:
            run.figures[number] = fig
    except Exception as exc:  # a broken figure must not lose the others
        import traceback

        log(f"  fig {number} failed: {exc}")
        traceback.print_exc()
        fig = run.figure(number)
        fig.error = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"


def reset_sequences(db: Scratch) -> bool:
    """Move each read-model row_id sequence past the rows a rebuild copied; True if needed."""
    import psycopg2

    from bench.databases import pg_dsn
    from craton.projections.tables import LIVE

    behind = False
    conn = psycopg2.connect(**pg_dsn(db.name))  # type: ignore[arg-type]
    try:
        with conn.cursor() as cur:
            for table in LIVE.versioned:
                cur.execute(f"SELECT pg_get_serial_sequence('{table.name}', 'row_id')")
                seq = cur.fetchone()[0]
                if seq is None:
                    continue
                cur.execute(f"SELECT COALESCE(MAX(row_id), 0) FROM {table.name}")
                top = int(cur.fetchone()[0])
                cur.execute(f"SELECT last_value FROM {seq}")
                if int(cur.fetchone()[0]) < top:
                    behind = True
                    cur.execute("SELECT setval(%s, %s)", (seq, top))
        conn.commit()
    finally:
        conn.close()
    return behind
