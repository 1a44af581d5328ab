"""Saved digests: a chain position and hash, stamped with a time and optionally signed."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from typing import Any


def rfc3339(moment: datetime | None = None) -> str:
    """Format a moment (default: now) as an RFC 3339 UTC timestamp."""
    moment = moment or datetime.now(UTC)
    if moment.tzinfo is None:
        raise ValueError("the digest time must be timezone-aware")
    text = moment.astimezone(UTC).isoformat(timespec="microseconds")
    return text.replace("+00:00", "Z")


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

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Digest:
        """Build a digest from a dictionary, rejecting malformed fields."""
        hash_hex = str(data["hash"]).lower()
        if len(hash_hex) != 64 or any(c not in "0123456789abcdef" for c in hash_hex):
            raise ValueError(f"digest hash is not SHA-256 hex: {data['hash']!r}")
        time = str(data["time"])
        datetime.fromisoformat(time)
        signature = data.get("signature")
        key_id = data.get("key_id")
        return cls(
            position=int(data["position"]),
            hash=hash_hex,
            time=time,
            signature=None if signature is None else str(signature),
            key_id=None if key_id is None else str(key_id),
        )

    @classmethod
    def from_json(cls, text: str | bytes) -> Digest:
        """Parse a digest from its JSON document."""
        data = json.loads(text)
        if not isinstance(data, dict):
            raise TypeError("a digest must be a JSON object")
        return cls.from_dict(data)

    def unsigned(self) -> Digest:
        """Return the digest without signature fields."""
        return replace(self, signature=None, key_id=None)
