"""The HTML reports, loaded in a real headless browser, show their tables and charts."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from craton.reports import load_reports, run_report
from craton.reports.render import render


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if os.environ.get("CI") == "true":
        pytest.fail("chromium is required under CI (apt-get install -y chromium)")
    pytest.skip("chromium is not installed")


def dump_dom(browser: str, page: Path, profile: Path) -> str:
    done = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", f"--user-data-dir={profile}", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=90)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_every_html_report_loads_with_its_table_and_chart(memory_history, tmp_path) -> None:
    browser = chromium()
    svc, _ = memory_history
    pages = []
    with svc.db.reading() as conn:
        for name, report in load_reports().items():
            page = tmp_path / f"{name}.html"
            page.write_text(render(run_report(conn, report, None, "2026-03-10T00:00:00Z"),
                                   "html"), encoding="utf-8")
            pages.append(page)
    for page in pages:
        dom = dump_dom(browser, page, tmp_path / "profile")
        assert "<table" in dom and 'id="summary"' in dom, page.name
        assert "<svg" in dom and "<rect" in dom, page.name


def test_a_screenshot_of_the_capacity_report_is_drawn(memory_history, tmp_path) -> None:
    browser = chromium()
    svc, _ = memory_history
    with svc.db.reading() as conn:
        data = run_report(conn, load_reports()["unused-capacity"])
    page = tmp_path / "capacity.html"
    page.write_text(render(data, "html"), encoding="utf-8")
    shot = tmp_path / "shot.png"
    done = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}",
         f"--screenshot={shot}", "--window-size=900,900", page.as_uri()],
        capture_output=True, text=True, timeout=90)
    assert done.returncode == 0, done.stderr[-2000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 5000
