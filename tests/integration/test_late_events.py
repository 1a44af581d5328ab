"""Events stamped out of order: which are late, and the position of every moment.

The same tests on SQLite and PostgreSQL. Each compares the seek with the
definition itself (the greatest position whose stamp is at or before the
moment), over every moment that matters: each stamp, just before and just
after it.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from itertools import cycle

from sqlalchemy import select

from craton import replay
from craton.bootstrap import Services
from craton.domain import clock
from craton.importer import import_fleet
from craton.projections import timeline
from craton.projections.tables import LIVE
from tests.conftest import make_fleet

START = datetime(2026, 3, 1, tzinfo=UTC)


def stamps(svc: Services) -> list[tuple[int, datetime]]:
    e = LIVE.events
    with svc.db.reading() as conn:
        return [(p, timeline.utc(t)) for p, t in
                conn.execute(select(e.c.position, e.c.time).order_by(e.c.position))]


def late_positions(svc: Services) -> list[int]:
    with svc.db.reading() as conn:
        return list(conn.execute(select(LIVE.late.c.position)
                                 .order_by(LIVE.late.c.position)).scalars())


def expected_late(log: list[tuple[int, datetime]]) -> list[int]:
    out, latest = [], None
    for position, time in log:
        if latest is not None and time < latest:
            out.append(position)
        latest = time if latest is None else max(latest, time)
    return out


def moments(log: list[tuple[int, datetime]]) -> Iterator[datetime]:
    tick = timedelta(microseconds=1)
    for _, time in log:
        yield from (time - tick, time, time + tick)


def assert_every_moment_exact(svc: Services) -> None:
    log = stamps(svc)
    with svc.db.reading() as conn:
        for moment in moments(log):
            wanted = max((p for p, t in log if t <= moment), default=0)
            assert timeline.position_at(conn, moment) == wanted, moment


def stamped(offsets: list[float]) -> Iterator[datetime]:
    for minutes in offsets:
        yield START + timedelta(minutes=minutes)


def test_changes_stamped_out_of_order_are_late_and_every_moment_is_exact(
        services: Services) -> None:
    with clock.using(lambda: START):
        f = make_fleet(services)
    led, meta, host = services.ledger, f["meta"], f["host"]["id"]
    # a past imported after the present, stamps repeated, and a clock that runs behind
    offsets = [60, 10, 10, 70, 5, 70, 65, 80, 0, 80, 90]
    for n, moment in enumerate(stamped(offsets)):
        with clock.using(lambda moment=moment: moment):  # type: ignore[misc]
            led.set_variables(meta, "host", host, {"n": n})
    log = stamps(services)
    late = late_positions(services)
    assert late == expected_late(log)
    assert len(late) == 5  # 10, 10, 5, 65, 0 (a repeated latest stamp is not late)
    assert_every_moment_exact(services)


def test_late_events_within_one_write_are_found_by_the_write_itself(
        services: Services) -> None:
    with clock.using(lambda: START):
        f = make_fleet(services)
    times = cycle(stamped([30, 20, 40, 35, 10, 50, 50, 45]))
    document = {"clouds": [{"name": "c"}], "regions": [{"name": "r", "cloud": "c"}],
                "hosts": [{"name": f"h{i}", "region": "r", "labels": ["gpu"]}
                          for i in range(12)]}
    with clock.using(lambda: next(times)):
        import_fleet(services.ledger, f["meta"], document, batch_size=5)
    log = stamps(services)
    assert late_positions(services) == expected_late(log)
    assert late_positions(services)
    assert_every_moment_exact(services)


def test_a_replay_finds_the_same_late_events(services: Services) -> None:
    rng = random.Random(7)
    with clock.using(lambda: START):
        f = make_fleet(services)
    led, meta, host = services.ledger, f["meta"], f["host"]["id"]
    for n in range(30):
        moment = START + timedelta(seconds=rng.randrange(0, 600))
        with clock.using(lambda moment=moment: moment):  # type: ignore[misc]
            led.set_variables(meta, "host", host, {"n": n})
    live = late_positions(services)
    assert live == expected_late(stamps(services))
    assert replay.verify(services, batch_size=4).differences == []
    replay.rebuild(services, batch_size=3, workers=2)
    assert late_positions(services) == live
    assert_every_moment_exact(services)
    # after the swap, a late change is still noted as it is made
    with clock.using(lambda: START - timedelta(days=1)):
        led.set_variables(meta, "host", host, {"n": "before everything"})
    assert late_positions(services) == expected_late(stamps(services))
    assert_every_moment_exact(services)


def test_one_large_write_notes_its_late_events(services: Services) -> None:
    """A write whose events go in by COPY (PostgreSQL), late both within itself and
    against the log before it."""
    with clock.using(lambda: START + timedelta(hours=2)):
        f = make_fleet(services)
    times = cycle(stamped([130, 20, 140, 90, 150, 150, 10]))
    document = {"clouds": [{"name": "c"}], "regions": [{"name": "r", "cloud": "c"}],
                "hosts": [{"name": f"h{i}", "region": "r"} for i in range(700)]}
    with clock.using(lambda: next(times)):
        import_fleet(services.ledger, f["meta"], document, batch_size=1000)
    log = stamps(services)
    assert late_positions(services) == expected_late(log)
    assert len(late_positions(services)) > 300
    assert_every_moment_exact(services)


def rebuilt_while(svc: Services, meanwhile: Callable[[], object]) -> list[int]:
    """Replay the log into scratch tables, make ``meanwhile``'s changes, catch the scratch
    tables up as a rebuild does; the late events the scratch tables then hold."""
    scratch = replay._fresh(svc, replay.SCRATCH)
    try:
        replay.project_into(svc, scratch, workers=1)
        meanwhile()
        with svc.db.writing() as session:
            replay._catch_up(svc, scratch, session.connection())
        with svc.db.reading() as conn:
            return list(conn.execute(select(scratch.late.c.position)
                                     .order_by(scratch.late.c.position)).scalars())
    finally:
        scratch.metadata.drop_all(svc.db.engine)


def test_changes_made_while_a_rebuild_runs_are_noted_by_its_catch_up(
        services: Services) -> None:
    """The catch-up's log has no time index until the swap: the latest stamp before a
    batch is the last event's that is not late (here the log the replay read ends
    with a late one)."""
    with clock.using(lambda: START + timedelta(hours=1)):
        f = make_fleet(services)
    led, meta, host = services.ledger, f["meta"], f["host"]["id"]

    def change(minutes: int) -> None:
        moment = START + timedelta(minutes=minutes)
        with clock.using(lambda: moment):
            led.set_variables(meta, "host", host, {"m": minutes})

    change(90)
    change(70)  # late, and the last event the replay reads
    caught = rebuilt_while(services, lambda: [change(m) for m in (80, 95, 95, 0)])
    assert caught == late_positions(services) == expected_late(stamps(services))
    assert len(caught) == 3  # 70; 80 (after 90, though right after a late one); 0


def test_a_rebuild_of_an_empty_log_notes_what_arrives_meanwhile(services: Services) -> None:
    """The catch-up's log has no time index until the swap; its first batch has nothing
    before it, and is late only within itself."""
    times = cycle(stamped([30, 10, 40, 20]))

    def fleet() -> None:
        with clock.using(lambda: next(times)):
            make_fleet(services)

    caught = rebuilt_while(services, fleet)  # nothing to replay before it
    assert caught == late_positions(services) == expected_late(stamps(services))
    assert caught


def test_a_log_in_order_has_no_late_events(services: Services) -> None:
    make_fleet(services)
    assert late_positions(services) == []
    assert_every_moment_exact(services)


def test_the_moment_is_found_by_a_seek_on_the_time_index(services: Services) -> None:
    """Neither database walks the log back from its head (the primary key) to find
    the last event at or before a moment."""
    from craton.projections.lateness import _position_statement

    make_fleet(services)
    statement = _position_statement(LIVE.events, LIVE.late)
    with services.db.engine.connect() as conn:
        if services.db.is_postgres:
            for kind in ("seqscan", "bitmapscan"):
                conn.exec_driver_sql(f"SET LOCAL enable_{kind} = off")
        compiled = statement.compile(dialect=conn.dialect)
        explain = "EXPLAIN " if services.db.is_postgres else "EXPLAIN QUERY PLAN "
        params = compiled.construct_params({"moment": START})
        values = params if services.db.is_postgres else tuple(
            params[k] for k in compiled.positiontup or ())
        plan = "\n".join(str(line[-1]) for line in
                         conn.exec_driver_sql(explain + compiled.string, values).all())
    assert "ix_event_time" in plan, plan
    assert "event_log_pkey" not in plan and "SCAN event_log" not in plan, plan
