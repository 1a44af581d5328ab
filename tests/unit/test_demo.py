"""The demo fleet: weeks of history, stamped in the order it is recorded."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from craton.api.auth import ensure_root
from craton.bootstrap import Services, bootstrap
from craton.demo import load_demo
from craton.domain.errors import Conflict
from craton.projections.tables import LIVE
from craton.projections.timeline import utc
from craton.settings import Settings


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


def test_serve_seeds_an_empty_ledger_with_the_demo_then_its_root(
        memory_services: Services) -> None:
    from craton.commands import seed

    given = "serve-root-token-" + "s" * 24
    assert seed(memory_services, given, demo=True) == given
    with memory_services.db.reading() as conn:
        late = conn.execute(select(func.count()).select_from(LIVE.late)).scalar()
        users = set(conn.execute(select(LIVE.resources.c.name).where(
            LIVE.resources.c.kind == "user", LIVE.resources.c.valid_to.is_(None))).scalars())
        events = conn.execute(select(func.count()).select_from(LIVE.events)).scalar()
    assert late == 0 and "root" in users
    assert seed(memory_services, None, demo=True) is None  # not empty: nothing again,
    # and with no token given an empty ledger's root user gets a new one

    with memory_services.db.reading() as conn:
        assert conn.execute(select(func.count()).select_from(LIVE.events)).scalar() == events
    fresh = bootstrap(Settings(database_url="sqlite://"))
    try:
        assert seed(fresh, None, demo=False)
    finally:
        fresh.close()


def test_the_demo_refuses_a_ledger_that_is_not_empty(memory_services: Services,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    ensure_root(memory_services, "demo-root-token-" + "d" * 24)
    with memory_services.db.reading() as conn:
        before = conn.execute(select(func.count()).select_from(LIVE.events)).scalar()
    with pytest.raises(Conflict, match=r"already holds \d+ events: the demo fleet"):
        load_demo(memory_services.ledger, regions=1, hosts_per_cell=2, days=1)
    with memory_services.db.reading() as conn:
        assert conn.execute(select(func.count()).select_from(LIVE.events)).scalar() == before


def test_the_demo_command_says_so_in_one_line(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    from craton.cli import main

    url = f"sqlite:///{tmp_path / 'craton.db'}"
    assert main(["--database-url", url, "demo", "--hosts-per-cell", "2"]) == 0
    capsys.readouterr()
    assert main(["--database-url", url, "demo", "--hosts-per-cell", "2"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("craton: the ledger already holds") and "\n" not in err


def test_every_demo_host_address_is_valid_and_distinct_however_large_a_cell() -> None:
    import ipaddress

    from craton.demo import _host_address

    addresses = [_host_address(r, c, h) for r in range(3) for c in range(2)
                 for h in range(300)]
    assert len(set(addresses)) == len(addresses)
    assert all(ipaddress.ip_address(a) in ipaddress.ip_network("10.0.0.0/8")
               for a in addresses)
