"""A batch's writes keep their order whichever way each goes to the database."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from craton.bootstrap import Services
from craton.domain.errors import ConcurrentWrite
from craton.projections.bulk import COPY_FROM
from craton.projections.rows import Batch
from craton.projections.tables import LIVE
from tests.conftest import make_fleet


def test_a_version_is_closed_before_many_new_rows_are_copied_in(services: Services) -> None:
    f = make_fleet(services)
    host = f["host"]
    t = LIVE.resources
    with services.db.writing() as session:
        conn = session.connection()
        batch = Batch(conn, LIVE)
        old = batch.resource(host["uuid"])
        assert old is not None and old["unique_key"]  # the new version takes the same key
        now, position = datetime.now(UTC), 10_000
        new = {k: v for k, v in old.items() if k != "row_id"}
        batch.close_resource(old, position, now)  # one close: small, held back
        new.update(version=old["version"] + 1, valid_from=position, valid_to=None,
                   from_time=now, to_time=None)
        batch.open_resource(new)
        for i in range(COPY_FROM - 1):  # enough new rows to be copied in at once
            batch.new_resources.append(dict(
                new, id=50_000 + i, uuid=f"00000000-0000-0000-0000-{i:012d}",
                unique_key=None))
        batch.flush()
        current = conn.execute(select(func.count()).select_from(t).where(
            t.c.id == host["id"], t.c.valid_to.is_(None))).scalar()
    assert current == 1


@pytest.mark.parametrize("rows", [1, COPY_FROM], ids=["held", "copied"])
def test_a_broken_unique_key_in_a_bulk_write_is_a_concurrent_write(
        services: Services, rows: int) -> None:
    """The raw driver's error (bulk writes bypass SQLAlchemy) is the domain's, and the
    write leaves nothing behind."""
    f = make_fleet(services)
    host = f["host"]
    t = LIVE.resources
    before = _count(services)
    with pytest.raises(ConcurrentWrite), services.db.writing() as session:
        conn = session.connection()
        batch = Batch(conn, LIVE)
        live = batch.resource(host["uuid"])
        assert live is not None
        clash = {k: v for k, v in live.items() if k != "row_id"}  # same live unique key
        batch.new_resources.append(dict(clash, id=60_000))
        for i in range(rows - 1):
            batch.new_resources.append(dict(
                clash, id=60_001 + i, uuid=f"00000000-0000-0000-0001-{i:012d}",
                unique_key=None))
        batch.flush()
    assert _count(services) == before
    with services.db.reading() as conn:
        assert conn.execute(select(func.count()).select_from(t).where(
            t.c.id >= 60_000)).scalar() == 0


def _count(services: Services) -> int:
    with services.db.reading() as conn:
        return int(conn.execute(select(func.count()).select_from(LIVE.resources)).scalar()
                   or 0)
