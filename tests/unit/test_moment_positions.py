"""A moment's position, against its definition, for any order of stamps (property)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import example, given, settings
from hypothesis import strategies as st

from craton.bootstrap import bootstrap
from craton.domain import clock
from craton.importer import import_fleet
from craton.projections import timeline
from craton.projections.tables import LIVE
from craton.settings import Settings
from tests.conftest import make_fleet

START = datetime(2026, 1, 1, tzinfo=UTC)


@settings(max_examples=40, deadline=None)
@example(fleet_at=0, changes=[], imported=[20, 10], batch=2)  # late within one write only
@given(fleet_at=st.integers(0, 20), changes=st.lists(st.integers(0, 20), max_size=12),
       imported=st.lists(st.integers(0, 20), max_size=12), batch=st.integers(1, 5))
def test_every_moment_maps_to_the_last_position_stamped_at_or_before_it(
        fleet_at: int, changes: list[int], imported: list[int], batch: int) -> None:
    svc = bootstrap(Settings(database_url="sqlite://"))
    try:
        with clock.using(lambda: START + timedelta(minutes=fleet_at)):
            f = make_fleet(svc)
        for n, minutes in enumerate(changes):
            moment = START + timedelta(minutes=minutes)
            with clock.using(lambda moment=moment: moment):  # type: ignore[misc]
                svc.ledger.set_variables(f["meta"], "host", f["host"]["id"], {"n": n})
        stamps = iter([START + timedelta(minutes=m) for m in imported])
        document = {"hosts": [{"name": f"h{i}", "region_id": f["region"]["id"]}
                              for i in range(len(imported))]}
        with clock.using(lambda: next(stamps)):
            import_fleet(svc.ledger, f["meta"], document, batch_size=batch)
        e = LIVE.events
        with svc.db.reading() as conn:
            log = [(p, timeline.utc(t)) for p, t in conn.execute(
                e.select().with_only_columns(e.c.position, e.c.time).order_by(e.c.position))]
            for minutes in range(-1, 22):
                for seconds in (-1, 0, 1):
                    moment = START + timedelta(minutes=minutes, microseconds=seconds)
                    wanted = max((p for p, t in log if t <= moment), default=0)
                    assert timeline.position_at(conn, moment) == wanted, (moment, log)
    finally:
        svc.close()
