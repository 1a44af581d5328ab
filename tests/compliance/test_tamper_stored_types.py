"""Rows changed behind the triggers' back into shapes the log never stores, and events
moved to another position, are named at their position by ``craton verify``."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from craton.bootstrap import Services, bootstrap
from craton.db import EVENTS_TABLE
from craton.settings import Settings

from . import tamper
from .test_tamper import HEAD, fleet, verify_cli

# SQLite keeps any type in any column: each of these is a row no write stores.
RETYPED = {
    "state as text, its content unchanged": (
        "state = CAST(state AS TEXT)", "its state is stored as text, not bytes"),
    "state as a JSON text": ("state = '{}'", "its state is stored as text, not bytes"),
    "state as a real number": ("state = 1e300", "its state is stored as a real number"),
    "aggregate id that is no UUID": ("originator_id = 'abc'", "its aggregate id is not a UUID"),
    "aggregate id of one byte": ("originator_id = x'00'", "its aggregate id is not a UUID"),
    "version as text": ("originator_version = 'x'", "its version is stored as text"),
    "version as a real number": ("originator_version = 5.5",
                                 "its version is stored as a real number"),
    "event type as bytes": ("topic = x'ff'", "its event type is stored as bytes, not text"),
    "event type not UTF-8": ("topic = CAST(x'ff' AS TEXT)",
                             "its event type is not UTF-8 text"),
}


@pytest.fixture
def sqlite_fleet(tmp_path: Path):
    svc = bootstrap(Settings(database_url=f"sqlite:///{tmp_path / 'craton.db'}"))
    fleet(svc)
    yield svc
    svc.close()


@pytest.mark.parametrize("case", sorted(RETYPED))
def test_a_row_stored_as_other_types_is_reported_as_altered_at_its_position(
        sqlite_fleet: Services, capsys: pytest.CaptureFixture[str], case: str) -> None:
    change, said = RETYPED[case]
    with tamper.superuser(sqlite_fleet) as conn:
        conn.execute(text(f"UPDATE {EVENTS_TABLE} SET {change} WHERE id = 7"))
    code, out = verify_cli(sqlite_fleet.db.url, capsys)
    assert code == 1, capsys.readouterr().err
    assert out.startswith(f"event at position 7 was altered: {said}")
    assert capsys.readouterr().err == ""


def test_the_last_event_moved_to_a_later_position_is_named_as_moved(
        services: Services, capsys: pytest.CaptureFixture[str]) -> None:
    fleet(services)
    with tamper.superuser(services) as conn:
        conn.execute(text(f"UPDATE {EVENTS_TABLE} SET id = :to WHERE id = :at"),
                     {"to": HEAD + 50, "at": HEAD})
    code, out = verify_cli(services.db.url, capsys)
    assert code == 1
    assert out == (f"event at position {HEAD} was moved: the log holds it at position "
                   f"{HEAD + 50}\n")


def test_an_event_moved_from_the_middle_is_named_as_moved(
        services: Services, capsys: pytest.CaptureFixture[str]) -> None:
    fleet(services)
    with tamper.superuser(services) as conn:
        conn.execute(text(f"UPDATE {EVENTS_TABLE} SET id = :to WHERE id = :at"),
                     {"to": HEAD + 50, "at": 7})
    code, out = verify_cli(services.db.url, capsys)
    assert code == 1
    assert out == f"event at position 7 was moved: the log holds it at position {HEAD + 50}\n"
