"""Finding report plugins (entry point group ``craton.reports``) through stevedore."""

from __future__ import annotations

from sqlalchemy import Connection
from stevedore import ExtensionManager

from craton.domain.errors import NotFound
from craton.reports.base import Report, ReportData
from craton.reports.window import resolve_window
from craton.settings import Settings

NAMESPACE = "craton.reports"

# What reading a report takes unless it says otherwise: the right to read the audit
# trail. A report declares ``permission = (subject, action)`` in the API's policy
# terms when what it shows is guarded more closely than that.
READ_AUDIT = ("audit", "read")


def required_permission(report: Report) -> tuple[str, str]:
    """The (subject, action) a caller's role must be allowed to read this report."""
    permission = getattr(report, "permission", READ_AUDIT)
    subject, action = permission
    return str(subject), str(action)


def load_reports(settings: Settings | None = None) -> dict[str, Report]:
    """Every installed report, by name, constructed with the settings."""
    manager: ExtensionManager[Report] = ExtensionManager(NAMESPACE, invoke_on_load=True,
                               invoke_kwds={"settings": settings or Settings()})
    return {ext.name: ext.obj for ext in sorted(manager, key=lambda e: e.name)
            if ext.obj is not None}


def get_report(name: str, settings: Settings | None = None,
               reports: dict[str, Report] | None = None) -> Report:
    """One report by name; NotFound lists the installed ones."""
    found = reports if reports is not None else load_reports(settings)
    if name not in found:
        raise NotFound(f"no report {name!r}; installed: {', '.join(sorted(found)) or 'none'}")
    return found[name]


def run_report(conn: Connection, report: Report, start: str | None = None,
               end: str | None = None, project_id: str | None = None,
               hidden_kinds: tuple[str, ...] = ()) -> ReportData:
    """Resolve the window and compute one report on a consistent snapshot."""
    return report.compute(conn, resolve_window(conn, start, end), project_id,
                          hidden_kinds=hidden_kinds)
