"""What the hash chain is made of: stored records, their links, and a verification's outcome."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from craton.ledger.evidence_verify import canonical_bytes, chain_hash, normalise_uuid

__all__ = [
    "ChainLink",
    "Problem",
    "StoredRecord",
    "VerifyReport",
    "extend",
    "normalised_record",
]

Problem = Literal["altered", "removed", "inserted", "reordered", "truncated"]


@dataclass(frozen=True)
class StoredRecord:
    """One row of the stored event log."""

    position: int
    originator_id: str
    version: int
    topic: str
    state: bytes

    def canonical(self) -> bytes:
        """Return this record's canonical encoding."""
        return canonical_bytes(
            self.position, self.originator_id, self.version, self.topic, self.state
        )

    def hash_after(self, previous_hash: str) -> str:
        """Return the chain hash of this record following previous_hash."""
        return chain_hash(previous_hash, self.canonical())

    def content_at(self, position: int) -> StoredRecord:
        """Return this record's content placed at another position."""
        return StoredRecord(position, self.originator_id, self.version, self.topic, self.state)


@dataclass(frozen=True)
class ChainLink:
    """The chain hash stored for one position."""

    position: int
    hash: str


@dataclass(frozen=True)
class VerifyReport:
    """Outcome of verifying the log against its links and digests."""

    ok: bool
    checked: int
    head: ChainLink | None
    problem: Problem | None
    position: int | None
    message: str


def extend(previous_hash: str, records: Iterable[StoredRecord]) -> list[ChainLink]:
    """Return the links that chain the records after previous_hash."""
    links: list[ChainLink] = []
    current = previous_hash
    last: int | None = None
    for record in records:
        if last is not None and record.position <= last:
            raise ValueError(f"positions must increase: {record.position} after {last}")
        current = record.hash_after(current)
        links.append(ChainLink(record.position, current))
        last = record.position
    return links


def normalised_record(
    position: int, originator_id: object, version: int, topic: str, state: bytes
) -> StoredRecord:
    """Build a StoredRecord from raw column values."""
    return StoredRecord(
        int(position), normalise_uuid(originator_id), int(version), topic, bytes(state)
    )
