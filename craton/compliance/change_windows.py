"""Change windows (``CRATON_CHANGE_WINDOWS``): when changes are expected to happen.

The value holds windows separated by ``;``. Each window is optional days, a time
range and an optional time zone: ``Mon-Fri 08:00-18:00 UTC``,
``Sat,Sun 10:00-12:00 Europe/Paris``, ``22:00-02:00`` (every day, across midnight,
UTC). A range that ends before it starts runs into the next day; ``24:00`` is the
end of the day. A moment is inside when any window holds it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from craton.domain.errors import InvalidInput

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_RANGE = re.compile(r"^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$")


@dataclass(frozen=True)
class ChangeWindow:
    """Days of the week (0 = Monday), a start and end in minutes, and a time zone."""

    days: frozenset[int]
    start_minute: int
    end_minute: int
    zone: str
    text: str

    def holds(self, moment: datetime) -> bool:
        """Tell whether the moment falls inside this window."""
        local = moment.astimezone(ZoneInfo(self.zone))
        minute = local.hour * 60 + local.minute + local.second / 60
        if self.start_minute < self.end_minute:
            return local.weekday() in self.days and self.start_minute <= minute < self.end_minute
        if local.weekday() in self.days and minute >= self.start_minute:
            return True
        yesterday = (local - timedelta(days=1)).weekday()
        return yesterday in self.days and minute < self.end_minute


def _day(name: str, text: str) -> int:
    key = name.strip().lower()[:3]
    if key not in DAYS:
        raise InvalidInput(f"change window {text!r}: {name!r} is not a day (Mon..Sun)")
    return DAYS.index(key)


def _days(spec: str, text: str) -> frozenset[int]:
    out: set[int] = set()
    for part in spec.split(","):
        if "-" in part:
            first, last = (_day(p, text) for p in part.split("-", 1))
            span = (last - first) % 7
            out.update((first + i) % 7 for i in range(span + 1))
        else:
            out.add(_day(part, text))
    return frozenset(out)


def _minute(hours: str, minutes: str, text: str) -> int:
    h, m = int(hours), int(minutes)
    if m > 59 or h > 24 or (h == 24 and m):
        raise InvalidInput(f"change window {text!r}: {hours}:{minutes} is not a time of day")
    return h * 60 + m


def parse_window(text: str) -> ChangeWindow:
    """Parse one window such as ``Mon-Fri 08:00-18:00 UTC``."""
    parts = text.split()
    ranges = [i for i, p in enumerate(parts) if _RANGE.match(p)]
    if len(ranges) != 1:
        raise InvalidInput(f"change window {text!r}: give one time range such as 08:00-18:00")
    at = ranges[0]
    if at > 1 or len(parts) - at > 2:
        raise InvalidInput(f"change window {text!r}: write [days] HH:MM-HH:MM [zone]")
    days = _days(parts[0], text) if at == 1 else frozenset(range(7))
    match = _RANGE.match(parts[at])
    assert match is not None
    start = _minute(match.group(1), match.group(2), text)
    end = _minute(match.group(3), match.group(4), text)
    if start == end:
        raise InvalidInput(f"change window {text!r}: the range is empty")
    zone = parts[at + 1] if len(parts) > at + 1 else "UTC"
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # "Europe" names a folder
        raise InvalidInput(f"change window {text!r}: unknown time zone {zone!r}") from None
    return ChangeWindow(days, start, end, zone, text.strip())


def parse_windows(value: str | None) -> list[ChangeWindow]:
    """Parse ``CRATON_CHANGE_WINDOWS``; empty or unset means no windows are configured."""
    if not value or not value.strip():
        return []
    return [parse_window(part) for part in value.split(";") if part.strip()]


def inside(windows: list[ChangeWindow], moment: datetime) -> bool:
    """Tell whether a moment falls in any window (always true with no windows)."""
    return not windows or any(w.holds(moment) for w in windows)


def describe(windows: list[ChangeWindow]) -> str:
    """The windows as text, for report notes."""
    return "; ".join(w.text for w in windows) if windows else "none configured"


__all__ = ["ChangeWindow", "describe", "inside", "parse_window", "parse_windows"]
