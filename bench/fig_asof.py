"""Figures 6 and 7: the past as an indexed query, against the present and a naive replay."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from bench import naive
from bench.config import Sizes
from bench.databases import Scratch
from bench.model import TIMES, Figure, Measurement, Target
from bench.queries import get_host, host_history, middle_moment, whole_fleet
from bench.stats import interleaved, median, now, percentile
from craton.bootstrap import Services, bootstrap
from craton.projections.tables import LIVE
from craton.projections.timeline import position_at
from craton.settings import Settings


def _svc(db: Scratch) -> Services:
    return bootstrap(Settings(database_url=db.url), init=False)


def past_position(svc: Services) -> tuple[Any, int]:
    with svc.db.reading() as conn:
        moment = middle_moment(conn)
        return moment, position_at(conn, moment)


def fleet_timings(svc: Services, hosts: int, repeats: int) -> dict[str, list[float]]:
    """The whole fleet now and at the middle moment (resolved from its time), and that
    moment's position alone, in turns."""
    moment, _ = past_position(svc)

    def at_moment() -> None:
        with svc.db.reading() as conn:
            whole_fleet(conn, position_at(conn, moment), hosts + 1)

    def current() -> None:
        with svc.db.reading() as conn:
            whole_fleet(conn, None, hosts + 1)

    def moment_to_position() -> None:  # a part of every ``at_moment``, on its own
        with svc.db.reading() as conn:
            position_at(conn, moment)

    return interleaved({"as_of": at_moment, "current": current,
                        "moment_to_position": moment_to_position}, repeats, warmup=1)


def measure_fleet(db: Scratch, sizes: Sizes, log: Any) -> Figure:
    fig = Figure(6)
    svc = _svc(db)
    try:
        moment, position = past_position(svc)
        log(f"  fig 6: whole fleet as of {moment} (position {position:,})")
        times = fleet_timings(svc, sizes.log_hosts, sizes.asof_repeats)
        with svc.db.reading() as conn:
            start = now()
            folded = naive.fleet_as_of(conn, svc.ledger.mapper, position)
            naive_s = now() - start
            queried = whole_fleet(conn, position, sizes.log_hosts + 1)
            late = conn.execute(select(func.count()).select_from(LIVE.late)).scalar()
        as_of, current = median(times["as_of"]), median(times["current"])
        fig.measurements += [
            Measurement("whole fleet as of a past moment", "s", as_of, current,
                        "the same query for the current state", Target("<=", 2)),
            Measurement("whole fleet as of a past moment", "s", as_of, naive_s,
                        "naive replay of the log up to that moment (plain Python fold)",
                        Target("<=", 0.01, f"≤ 0.01{TIMES} (≥ 100{TIMES} faster)")),
        ]
        fig.details = {"hosts": len(queried), "position": position, "moment": str(moment),
                       "as_of_runs_s": [round(t, 3) for t in times["as_of"]],
                       "current_runs_s": [round(t, 3) for t in times["current"]],
                       "moment_to_position_s": round(median(times["moment_to_position"]), 3),
                       "late_events": late,
                       "naive_replay_s": round(naive_s, 3),
                       "naive_replay_agrees": folded == queried}
        if folded != queried:  # a fast wrong answer must not pass
            fig.error = "the as-of query and the naive replay disagree"
        if not fig.met:
            from bench.profiling import profile

            def run() -> None:
                with svc.db.reading() as conn:
                    whole_fleet(conn, position, sizes.log_hosts + 1)

            fig.profile, _ = profile(run)
    finally:
        svc.close()
    return fig


def typical_host(svc: Services) -> tuple[int, int]:
    """A host with the median number of events, and that number."""
    e = LIVE.events
    with svc.db.reading() as conn:
        counts = sorted(conn.execute(
            select(e.c.resource_id, func.count()).where(e.c.kind == "host")
            .group_by(e.c.resource_id)).all(), key=lambda r: (r[1], r[0]))
    rid, n = counts[len(counts) // 2]
    return int(rid), int(n)


def measure_host(db: Scratch, sizes: Sizes, log: Any) -> Figure:
    fig = Figure(7)
    svc = _svc(db)
    try:
        host_id, events = typical_host(svc)
        _, position = past_position(svc)

        def call(fn: Any) -> Any:
            def run() -> None:
                with svc.db.reading() as conn:
                    fn(conn)
            return run

        times = interleaved({
            "current": call(lambda c: get_host(c, host_id, None)),
            "as_of": call(lambda c: get_host(c, host_id, position)),
            "history": call(lambda c: host_history(c, host_id)),
        }, sizes.latency_samples, warmup=5)
        cur = median(times["current"])
        fig.measurements += [
            Measurement("host history p50", "ms", 1000 * median(times["history"]), 1000 * cur,
                        "current-state GET of the same host", Target("<=", 2)),
            Measurement("host as-of p50", "ms", 1000 * median(times["as_of"]), 1000 * cur,
                        "current-state GET of the same host", Target("<=", 2)),
            Measurement("host history p99", "ms", 1000 * percentile(times["history"], 99),
                        1000 * percentile(times["current"], 99), "current-state GET p99"),
        ]
        with svc.db.reading() as conn:
            total = conn.execute(select(func.count()).select_from(LIVE.events)).scalar()
        fig.details = {"host_id": host_id, "host_events": events, "log_events": total,
                       "position": position, "samples": sizes.latency_samples}
        if not fig.met:
            from bench.profiling import profile

            def many() -> None:
                for _ in range(50):
                    with svc.db.reading() as conn:
                        host_history(conn, host_id)
                        get_host(conn, host_id, position)

            fig.profile, _ = profile(many)
    finally:
        svc.close()
    return fig
