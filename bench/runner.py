"""The ``eventsourcing`` library's ProjectionRunner driving Craton's projector.

One event per transaction with its tracking record, as the library does it.
SQLite has no subscriptions, so there the same loop (read one notification,
project it and record the tracking in one transaction) runs without the runner.
"""

from __future__ import annotations

from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import Tracking
from eventsourcing.projection import Projection, ProjectionRunner
from eventsourcing_sqlalchemy.recorders import SQLAlchemyTrackingRecorder
from sqlalchemy import select

from bench.stats import now
from craton.projections.projector import Projector
from craton.projections.tables import Tables, build_tables

PREFIX = "runner_"
# Where the library keeps the projection's tracking records (named after the projection);
# dropped before each run so no record left by an earlier run makes the runner skip events.
TRACKING_TABLES = ("cratonbench_tracking", "notification_tracking")
_TABLES: dict[str, Tables] = {}


def _tables() -> Tables:
    if PREFIX not in _TABLES:
        _TABLES[PREFIX] = build_tables(PREFIX)
    return _TABLES[PREFIX]


class Source(Application[UUID]):
    """Reads Craton's event table (same name, same mapper) and writes nothing."""

    name = "Craton"


class ReadModel(Projection[SQLAlchemyTrackingRecorder]):
    """Craton's projector, one event at a time, with the library's tracking record."""

    name = "CratonBench"
    topics: ClassVar[tuple[str, ...]] = ()  # type: ignore[misc]

    def __init__(self, view: SQLAlchemyTrackingRecorder):
        super().__init__(view=view)
        self.projector = Projector(_tables())

    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        with self.view.transaction(commit=True) as session:
            self.projector.apply(session.connection(),
                                 [(tracking.notification_id, domain_event)])
            self.view._insert_tracking(session, tracking)


def env(url: str) -> dict[str, str]:
    return {"PERSISTENCE_MODULE": "eventsourcing_sqlalchemy", "SQLALCHEMY_URL": url,
            "CREATE_TABLE": "y", "IS_SNAPSHOTTING_ENABLED": "n"}


def _prepare(url: str) -> None:
    from sqlalchemy import create_engine

    engine = create_engine(url)
    tables = _tables()
    tables.metadata.drop_all(engine)
    tables.metadata.create_all(engine)
    drop_tracking(engine)
    engine.dispose()


def drop_tracking(engine: Any) -> None:
    with engine.begin() as conn:
        for name in TRACKING_TABLES:
            conn.exec_driver_sql(f"DROP TABLE IF EXISTS {name}")


def _nth_id(url: str, n: int) -> int:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as conn:
        value = conn.execute(text(
            "SELECT id FROM craton_events ORDER BY id LIMIT 1 OFFSET :n"), {"n": n - 1}).scalar()
    engine.dispose()
    if value is None:
        raise RuntimeError(f"the log holds fewer than {n:,} events")
    return int(value)


def run_runner(url: str, events: int) -> tuple[float, int, str]:
    """Seconds to project the first ``events`` events; and how it was driven."""
    _prepare(url)
    last = _nth_id(url, events)
    if url.startswith("sqlite"):
        return _emulated(url, last, events), events, "emulated loop (SQLite: no subscriptions)"
    start = now()
    with ProjectionRunner(application_class=Source, projection_class=ReadModel,
                          view_class=SQLAlchemyTrackingRecorder, env=env(url)) as runner:
        runner.wait(last, timeout=3600)
        seconds = now() - start
    return seconds, events, "eventsourcing.projection.ProjectionRunner"


def _emulated(url: str, last: int, events: int) -> float:
    from eventsourcing.utils import Environment
    from eventsourcing_sqlalchemy.factory import SQLAlchemyFactory

    app = Source(env=env(url))
    factory = SQLAlchemyFactory(Environment(ReadModel.name, env(url)))
    view = factory.tracking_recorder(SQLAlchemyTrackingRecorder)
    view.create_table()
    projection = ReadModel(view=view)
    start = now()
    position = 0
    while position < last:
        notifications = app.recorder.select_notifications(start=position + 1, limit=1)
        if not notifications:
            break
        n = notifications[0]
        projection.process_event(app.mapper.to_domain_event(n),
                                 Tracking(app.name, n.id))
        position = n.id
    seconds = now() - start
    app.close()
    return seconds


def projected_rows(url: str) -> int:
    from sqlalchemy import create_engine, func

    engine = create_engine(url)
    with engine.connect() as conn:
        count = conn.execute(select(func.count()).select_from(_tables().events)).scalar()
    engine.dispose()
    return int(count or 0)
