"""Saved digests: a chain position and hash, stamped with a time and optionally signed."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from craton.domain.errors import DomainError

SHA256_HEX = frozenset("0123456789abcdef")


class DigestError(DomainError, ValueError):
    """A saved digest that cannot be used: unreadable, malformed, or badly signed.

    A refusal, not a verdict on the log: nothing is checked against a digest
    that cannot be trusted to say what it claims. It stays a ValueError for
    callers that caught malformed digests as one.
    """


def rfc3339(moment: datetime | None = None) -> str:
    """Format a moment (default: now) as an RFC 3339 UTC timestamp."""
    moment = moment or datetime.now(UTC)
    if moment.tzinfo is None:
        raise ValueError("the digest time must be timezone-aware")
    text = moment.astimezone(UTC).isoformat(timespec="microseconds")
    return text.replace("+00:00", "Z")


REQUIRED = ("position", "hash", "time")
SHOWN = 40  # characters of a bad value quoted in a message, which stays one short line


def _shown(value: Any) -> str:
    """A field's value as JSON, cut short enough to quote."""
    text = json.dumps(value, default=str)
    return text if len(text) <= SHOWN else text[: SHOWN - 3] + "..."


def _require_fields(data: Mapping[str, Any]) -> None:
    """Name every missing field at once: a digest without them says nothing checkable."""
    missing = [name for name in REQUIRED if name not in data]
    if missing:
        raise ValueError("missing " + ", ".join(repr(name) for name in missing))


def _position(value: Any) -> int:
    """An event position: a JSON integer of at least 0.

    Floats, strings and booleans are refused rather than converted: ``int()``
    would quietly turn 1710.5 into 1710 and ``true`` into 1, and vouch for
    a position the digest never named. Position 0 is the empty log (what
    ``craton digest`` says of one): its hash must be the genesis hash, which
    verification checks, and every log extends it.
    """
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"'position' must be a whole number from 0, not {_shown(value)}")
    return value


def _hash(value: Any) -> str:
    """A SHA-256 hash as 64 lowercase hex digits."""
    text = value.lower() if isinstance(value, str) else ""
    if len(text) != 64 or not SHA256_HEX.issuperset(text):
        raise ValueError(f"'hash' is not a SHA-256 hash (64 hex digits): {_shown(value)}")
    return text


def _time(value: Any) -> str:
    """The time as written: the signature covers its exact text."""
    try:
        datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise ValueError(f"'time' is not an ISO 8601 time: {_shown(value)}") from None
    return str(value)


def _optional_text(data: Mapping[str, Any], name: str) -> str | None:
    """An optional string field (signature, key id)."""
    value = data.get(name)
    if value is not None and not isinstance(value, str):
        raise ValueError(f"{name!r} is not a string: {_shown(value)}")
    return value


@dataclass(frozen=True)
class Digest:
    """The chain hash at a position, saved outside the database."""

    position: int
    hash: str
    time: str
    signature: str | None = None
    key_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the digest as a JSON-ready dictionary."""
        return asdict(self)

    def to_json(self) -> str:
        """Return the digest as a JSON document."""
        return json.dumps(self.to_dict(), sort_keys=True)

    @property
    def label(self) -> str:
        """How messages name the digest: by what it claims, since its file is not known."""
        return f"the digest saved at {self.time} for position {self.position}"

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "digest") -> Digest:
        """Build a digest from a dictionary; DigestError names ``source`` and the bad field."""
        try:
            _require_fields(data)
            return cls(
                position=_position(data["position"]),
                hash=_hash(data["hash"]),
                time=_time(data["time"]),
                signature=_optional_text(data, "signature"),
                key_id=_optional_text(data, "key_id"),
            )
        except ValueError as exc:
            raise DigestError(f"{source}: {exc}") from None

    @classmethod
    def from_json(cls, text: str | bytes, source: str = "digest") -> Digest:
        """Parse a digest from its JSON document; DigestError says what is wrong."""
        try:
            data = json.loads(text)
        except (UnicodeDecodeError, ValueError):
            raise DigestError(f"{source} is not JSON") from None
        if not isinstance(data, dict):
            raise DigestError(f"{source} is not a JSON object")
        return cls.from_dict(data, source)

    def unsigned(self) -> Digest:
        """Return the digest without signature fields."""
        return replace(self, signature=None, key_id=None)


def read_digest(path: str | os.PathLike[str]) -> Digest:
    """Read a saved digest file; every problem is one DigestError line naming the file."""
    source = f"digest {os.fspath(path)}"
    try:
        text = Path(path).read_bytes()
    except OSError as exc:
        raise DigestError(f"{source} cannot be read: {exc.strerror or exc}") from None
    return Digest.from_json(text, source)
