"""What a report is: a plugin computing tables, charts and summary figures over a window."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Protocol

from sqlalchemy import Connection

from craton.projections.timeline import iso
from craton.settings import Settings

Cell = str | int | float | bool | None


@dataclass(frozen=True)
class Window:
    """The events after position ``after`` up to and including ``until``, and their moments."""

    after: int
    until: int
    start: datetime | None
    end: datetime
    label_from: str
    label_to: str

    def to_dict(self) -> dict[str, Any]:
        """Return the window as JSON-ready values."""
        return {"from": self.label_from, "to": self.label_to,
                "after_position": self.after, "until_position": self.until,
                "start_time": iso(self.start), "end_time": iso(self.end)}


@dataclass
class Table:
    """One table of a report: named columns and rows of plain values."""

    name: str
    title: str
    columns: list[str]
    rows: list[list[Cell]] = field(default_factory=list)


@dataclass
class Chart:
    """One bar chart: a label and a value per bar, in order."""

    title: str
    labels: list[str]
    values: list[float]
    unit: str = ""


@dataclass
class ReportData:
    """The computed content of one report, ready for any renderer."""

    name: str
    title: str
    description: str
    window: Window
    project_id: str | None
    summary: dict[str, Cell] = field(default_factory=dict)
    tables: list[Table] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def table(self, name: str) -> Table:
        """Return the table called name."""
        for table in self.tables:
            if table.name == name:
                return table
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        """Return the whole report as JSON-ready values."""
        return {
            "report": self.name, "title": self.title, "description": self.description,
            "window": self.window.to_dict(), "project_id": self.project_id,
            "summary": self.summary, "notes": self.notes,
            "tables": [asdict(t) for t in self.tables],
            "charts": [asdict(c) for c in self.charts],
        }


class Report(Protocol):
    """The interface of a report plugin (entry point group ``craton.reports``)."""

    name: str
    title: str
    description: str

    def compute(self, conn: Connection, window: Window, project_id: str | None, *,
                hidden_kinds: tuple[str, ...] = ()) -> ReportData:
        """Compute the report over the window, for one project or (None) the fleet,
        leaving out the events and resources of ``hidden_kinds`` (the kinds the
        reader may not read, as the audit trail leaves them out)."""
        ...


class BaseReport:
    """Common construction for the built-in reports: they receive the settings."""

    name: ClassVar[str] = ""
    title: ClassVar[str] = ""
    description: ClassVar[str] = ""
    # Whether it counts credential uses, which API workers write in the background
    # (the report's worker writes its own pending ones first).
    reads_credential_uses: ClassVar[bool] = False

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings()

    def new(self, window: Window, project_id: str | None) -> ReportData:
        """Return an empty result carrying this report's identity."""
        return ReportData(self.name, self.title, self.description, window, project_id)
