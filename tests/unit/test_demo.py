"""The demo fleet: weeks of history, stamped in the order it is recorded."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from craton.api.auth import ensure_root
from craton.bootstrap import Services
from craton.demo import load_demo
from craton.projections.tables import LIVE
from craton.projections.timeline import utc


def test_the_demo_history_and_then_its_root_are_stamped_in_order(
        memory_services: Services) -> None:
    """``serve`` loads the demo into an empty ledger before it makes the root user, so
    no event of the demo's past is recorded after today's."""
    summary = load_demo(memory_services.ledger, regions=1, hosts_per_cell=10, days=21)
    with memory_services.db.reading() as conn:
        last = utc(conn.execute(select(func.max(LIVE.events.c.time))).scalar())
    assert last < datetime.now(UTC)  # history, not a future
    ensure_root(memory_services, "demo-root-token-" + "d" * 24)
    with memory_services.db.reading() as conn:
        late = conn.execute(select(func.count()).select_from(LIVE.late)).scalar()
        events = conn.execute(select(func.count()).select_from(LIVE.events)).scalar()
    assert summary["hosts"] == 20 and events > 100
    assert late == 0
