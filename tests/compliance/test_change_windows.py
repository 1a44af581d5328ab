"""Parsing CRATON_CHANGE_WINDOWS and placing moments inside or outside them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from craton.compliance.change_windows import inside, parse_windows
from craton.domain.errors import InvalidInput


def moment(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC)  # 2 March 2026 is a Monday


def test_office_hours_hold_weekdays_only() -> None:
    windows = parse_windows("Mon-Fri 08:00-18:00 UTC")
    assert inside(windows, moment(2, 8))
    assert not inside(windows, moment(2, 18))
    assert not inside(windows, moment(7, 12))  # Saturday


def test_a_window_across_midnight_belongs_to_its_start_day() -> None:
    windows = parse_windows("Fri 22:00-02:00")
    assert inside(windows, moment(6, 23)) and inside(windows, moment(7, 1, 59))
    assert not inside(windows, moment(2, 1))  # Monday night follows Sunday


def test_several_windows_and_zones() -> None:
    windows = parse_windows("Sat,Sun 10:00-12:00 Europe/Paris; Mon-Fri 08:00-24:00 UTC")
    assert inside(windows, moment(7, 9, 30))  # 10:30 in Paris
    assert not inside(windows, moment(7, 11, 30))
    assert inside(windows, moment(3, 23, 59))


def test_no_windows_means_every_moment_is_inside() -> None:
    assert inside(parse_windows(None), moment(7, 3)) and parse_windows("  ") == []


@pytest.mark.parametrize("text", ["Mon-Fri", "Mon-Fri 08:00-25:00", "Funday 08:00-10:00",
                                  "08:00-08:00", "08:00-10:00 Mars/Olympus",
                                  "08:00-10:00 Europe"])
def test_malformed_windows_are_refused_with_a_reason(text: str) -> None:
    with pytest.raises(InvalidInput, match="change window"):
        parse_windows(text)
