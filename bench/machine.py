"""The machine and the software a run measured on."""

from __future__ import annotations

import os
import platform
import sqlite3
from importlib import metadata
from pathlib import Path
from typing import Any

LIBRARIES = ("eventsourcing", "eventsourcing-sqlalchemy", "SQLAlchemy", "psycopg2-binary",
             "falcon", "gunicorn", "highspy", "marshmallow")


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gb() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return float("nan")


def _os_name() -> str:
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip('"')
    except OSError:
        pass
    return platform.platform()


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "absent"


def describe(postgres_version: str | None = None) -> dict[str, Any]:
    return {
        "cpu": _cpu_model(), "cores": os.cpu_count(), "memory_gb": _memory_gb(),
        "os": _os_name(), "kernel": platform.release(),
        "python": platform.python_version(), "sqlite": sqlite3.sqlite_version,
        "postgresql": postgres_version or "not measured",
        "libraries": {name: _version(name) for name in LIBRARIES},
    }


def code_state() -> dict[str, Any]:
    """The commit measured and how many tracked files differ from it (read-only git)."""
    import subprocess

    from bench.config import ROOT

    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True,
                                  check=False, timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    changed = [line for line in git("status", "--porcelain", "--untracked-files=no",
                                     "--", "craton").splitlines() if line.strip()]
    return {"commit": git("rev-parse", "--short", "HEAD") or "unknown",
            "modified_core_files": len(changed)}
