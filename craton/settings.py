"""Configuration, read once from the environment into one object."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


def _int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"{name} must be a whole number, not {value!r}") from None


def _seconds(name: str, default: float, most: float) -> float:
    """A duration from the environment: a finite number of seconds in [0, most]."""
    value = os.environ.get(name)
    if not value:
        return default
    try:
        seconds = float(value)
    except ValueError:
        raise ValueError(f"{name} must be a number of seconds, not {value!r}") from None
    if not 0 <= seconds <= most:  # also refuses nan and inf
        raise ValueError(f"{name} must be between 0 and {most:g} seconds, not {value!r}")
    return seconds


@dataclass(frozen=True)
class Settings:
    """Everything Craton reads from its environment (CLI flags map onto these)."""

    database_url: str = "sqlite:///craton.db"
    read_database_url: str | None = None
    bind: str = "127.0.0.1:8000"
    workers: int = 2
    root_token: str | None = None
    transport_url: str | None = None
    signing_key: Path | None = None
    max_body_bytes: int = 1024 * 1024
    change_windows: str | None = None
    auth_cache_seconds: float = 5.0
    extra: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls) -> Settings:
        key = os.environ.get("CRATON_SIGNING_KEY")
        return cls(
            database_url=os.environ.get("CRATON_DATABASE_URL")
            or f"sqlite:///{Path.cwd() / 'craton.db'}",
            read_database_url=os.environ.get("CRATON_READ_DATABASE_URL") or None,
            bind=os.environ.get("CRATON_BIND", "127.0.0.1:8000"),
            workers=_int("CRATON_WORKERS", 2),
            root_token=os.environ.get("CRATON_ROOT_TOKEN") or None,
            transport_url=os.environ.get("CRATON_TRANSPORT_URL") or None,
            signing_key=Path(key) if key else None,
            max_body_bytes=_int("CRATON_MAX_BODY_BYTES", 1024 * 1024),
            change_windows=os.environ.get("CRATON_CHANGE_WINDOWS") or None,
            auth_cache_seconds=_seconds("CRATON_AUTH_CACHE_SECONDS", 5.0, most=300.0),
        )
