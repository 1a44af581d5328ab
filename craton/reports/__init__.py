"""Reports over the ledger: plugins (``craton.reports``) computed over a window."""

from __future__ import annotations

from craton.reports.base import BaseReport, Chart, Report, ReportData, Table, Window
from craton.reports.registry import get_report, load_reports, run_report
from craton.reports.window import resolve_window

__all__ = ["BaseReport", "Chart", "Report", "ReportData", "Table", "Window", "get_report",
           "load_reports", "resolve_window", "run_report"]
