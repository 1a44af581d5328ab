"""What the hash chain is made of: stored records, their links, and a verification's outcome."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any, Literal

from craton.ledger.evidence_verify import canonical_bytes, chain_hash, normalise_uuid

__all__ = [
    "ChainLink",
    "Problem",
    "StoredRecord",
    "UnreadableRecord",
    "UnreadableRow",
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
class UnreadableRecord(StoredRecord):
    """A stored row whose columns are not of the types the log stores (tampered with
    behind the triggers' back): it reproduces no link, and verification reports it."""

    reason: str = ""

    @classmethod
    def at(cls, position: int, reason: str) -> UnreadableRecord:
        return cls(position, "", 0, "", b"", reason)

    def hash_after(self, previous_hash: str) -> str:
        return ""  # no stored hash is empty

    def content_at(self, position: int) -> StoredRecord:
        return replace(self, position=position)


class UnreadableRow(ValueError):
    """A column of a stored event row that cannot be read as what the log stores."""


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
    position: int, originator_id: object, version: object, topic: object, state: object
) -> StoredRecord:
    """Build a StoredRecord from raw column values; an UnreadableRecord for a row whose
    columns are not an aggregate id, a whole number, text and bytes."""
    try:
        return StoredRecord(int(position), _aggregate_id(originator_id), _version(version),
                            _topic(topic), _state(state))
    except UnreadableRow as exc:
        return UnreadableRecord.at(int(position), str(exc))


def _kind(value: Any) -> str:
    """How a stored value is typed, in words."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "bytes"
    return {str: "text", int: "a whole number", float: "a real number",
            bool: "a boolean"}.get(type(value), type(value).__name__)


def _aggregate_id(value: object) -> str:
    try:
        return normalise_uuid(value)
    except (TypeError, ValueError):
        raise UnreadableRow("its aggregate id is not a UUID") from None


def _version(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise UnreadableRow(f"its version is stored as {_kind(value)}, not a whole number")
    return value


def _topic(value: object) -> str:
    if not isinstance(value, str):
        raise UnreadableRow(f"its event type is stored as {_kind(value)}, not text")
    return value


def _state(value: object) -> bytes:
    if not isinstance(value, (bytes, bytearray, memoryview)):
        raise UnreadableRow(f"its state is stored as {_kind(value)}, not bytes")
    return bytes(value)


def sqlite_record(position: int, columns: tuple[Any, ...]) -> StoredRecord:
    """A record from SQLite's columns, each read as its bytes beside its stored type
    (``typeof``): SQLite keeps any type in any column, and text that is not UTF-8
    cannot even be fetched as text. Types other than the log's make the row unreadable."""
    (aggregate, aggregate_type, version, version_type, topic, topic_type,
     state, state_type) = columns
    try:
        if aggregate_type != "text":  # a UUID is kept as 16 bytes, or as its hex text
            _stored_as(aggregate_type, "blob", "aggregate id")
        _stored_as(version_type, "integer", "version")
        _stored_as(topic_type, "text", "event type")
        _stored_as(state_type, "blob", "state")
        text = bytes(topic).decode("utf-8")
    except UnreadableRow as exc:
        return UnreadableRecord.at(position, str(exc))
    except UnicodeDecodeError:
        return UnreadableRecord.at(position, "its event type is not UTF-8 text")
    return normalised_record(position, aggregate, version, text, state)


SQLITE_KINDS = {"blob": "bytes", "integer": "a whole number", "text": "text",
                "real": "a real number", "null": "null"}


def _stored_as(stored: str, expected: str, name: str) -> None:
    if stored != expected:
        raise UnreadableRow(f"its {name} is stored as {SQLITE_KINDS.get(stored, stored)}, "
                            f"not {SQLITE_KINDS[expected]}")
