"""Verification of the hash chain over the stored event log."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence

from craton.ledger.digest import Digest
from craton.ledger.evidence_verify import GENESIS, canonical_bytes, chain_hash
from craton.ledger.records import (
    ChainLink,
    Problem,
    StoredRecord,
    VerifyReport,
    extend,
)

__all__ = [
    "GENESIS",
    "ChainLink",
    "Digest",
    "Problem",
    "StoredRecord",
    "VerifyReport",
    "canonical_bytes",
    "chain_hash",
    "extend",
    "verify",
]

LOOKAHEAD = 1024
LOOKBACK = 16


class _Peekable:
    """An iterator that can look ahead without consuming."""

    def __init__(self, items: Iterable[StoredRecord]) -> None:
        self._items: Iterator[StoredRecord] = iter(items)
        self._buffer: deque[StoredRecord] = deque()

    def _fill(self, count: int) -> None:
        while len(self._buffer) < count:
            try:
                self._buffer.append(next(self._items))
            except StopIteration:
                return

    def peek(self) -> StoredRecord | None:
        """Return the next record without consuming it."""
        self._fill(1)
        return self._buffer[0] if self._buffer else None

    def pop(self) -> StoredRecord:
        """Consume and return the next record."""
        self._fill(1)
        return self._buffer.popleft()

    def ahead(self, count: int) -> list[StoredRecord]:
        """Return up to count upcoming records without consuming them."""
        self._fill(count)
        return list(self._buffer)[:count]


def _link_iter(
    links: Mapping[int, str] | Iterable[ChainLink] | None,
) -> Iterator[ChainLink]:
    """Return the stored links in position order."""
    if links is None:
        return iter(())
    if isinstance(links, Mapping):
        return (ChainLink(int(p), str(h)) for p, h in sorted(links.items()))
    return iter(links)


class _Walk:
    """State of one verification pass."""

    def __init__(
        self,
        records: Iterable[StoredRecord],
        links: Mapping[int, str] | Iterable[ChainLink] | None,
        digests: Sequence[Digest],
        start_hash: str,
        start_position: int | None,
    ) -> None:
        self.records = _Peekable(records)
        self.have_links = links is not None
        self.links = _link_iter(links)
        self.next_link: ChainLink | None = next(self.links, None)
        self.digests = deque(sorted(digests, key=lambda d: d.position))
        self.current = start_hash
        self.last_position = start_position
        self.checked = 0
        self.head: ChainLink | None = None
        self.history: deque[tuple[int, str]] = deque(maxlen=LOOKBACK)
        self.passed_digest: Digest | None = None
        if start_position is not None:
            while self.digests and self.digests[0].position <= start_position:
                self.digests.popleft()

    def fail(self, problem: Problem, position: int, message: str) -> VerifyReport:
        """Build a failed report at position."""
        return VerifyReport(False, self.checked, self.head, problem, position, message)

    def advance_link(self) -> None:
        """Move to the next stored link."""
        self.next_link = next(self.links, None)

    def skip_before(self, position: int) -> None:
        """Drop links and digests before the first record when the start position is unknown."""
        while self.next_link is not None and self.next_link.position < position:
            self.advance_link()
        while self.digests and self.digests[0].position < position:
            self.digests.popleft()

    def moved_here(self, position: int, stored_hash: str) -> bool:
        """Tell whether a later record's content reproduces the stored hash at position."""
        for other in self.records.ahead(LOOKAHEAD):
            if other.content_at(position).hash_after(self.current) == stored_hash:
                return True
        return False

    def position_ahead(self, position: int) -> bool:
        """Tell whether a record for position arrives later, out of order."""
        return any(r.position == position for r in self.records.ahead(LOOKAHEAD))

    def inserted_before(self, record: StoredRecord, stored_hash: str) -> int | None:
        """Return the first of the preceding records that was slipped into the chain."""
        for position, before in reversed(self.history):
            if record.hash_after(before) == stored_hash:
                return position
        return None

    def mismatch(self, record: StoredRecord, stored_hash: str) -> VerifyReport:
        """Classify a record whose recomputed hash differs from its stored link."""
        p = record.position
        if self.moved_here(p, stored_hash):
            return self.fail(
                "reordered",
                p,
                f"event at position {p} was reordered: the event that belongs there "
                "was moved to a later position",
            )
        forged = self.inserted_before(record, stored_hash)
        if forged is not None:
            return self.fail(
                "inserted",
                forged,
                f"event at position {forged} was inserted: the chain skips it, "
                f"and position {p} links to the event before it",
            )
        # A deleted event and link leave exactly this trace; positions cannot tell more.
        if self.last_position is not None and p - self.last_position > 1:
            return self.fail(
                "removed",
                p,
                f"the chain breaks at position {p}: an event between positions "
                f"{self.last_position} and {p} was removed (or the event at {p} was altered)",
            )
        return self.fail(
            "altered",
            p,
            f"event at position {p} was altered: its hash no longer matches the chain",
        )

    def absent(self, position: int, recorded: str, covers: str) -> VerifyReport:
        """Classify a position that a link or digest vouches for but no event holds.

        ``recorded`` and ``covers`` name the witness in the truncated and removed messages.
        """
        if self.position_ahead(position):
            return self.fail(
                "reordered",
                position,
                f"event at position {position} was reordered: it appears out of order",
            )
        if self.records.peek() is None:
            return self.fail(
                "truncated",
                position,
                f"the log was cut short: {recorded} position {position}, "
                f"but the log ends at position {self.last_position}",
            )
        return self.fail(
            "removed",
            position,
            f"event at position {position} was removed: {covers} "
            "but the log has no such event",
        )

    def missing_link_event(self, link: ChainLink) -> VerifyReport:
        """Classify a stored link whose position has no event."""
        return self.absent(
            link.position, "the chain records an event at", "the chain records it"
        )

    def missed_digest(self, digest: Digest) -> VerifyReport:
        """Classify a digest whose position has no event."""
        saved = f"the digest saved at {digest.time}"
        return self.absent(digest.position, f"{saved} covers", f"{saved} covers it")

    def digest_mismatch(self, digest: Digest) -> VerifyReport:
        """Report a digest that the recomputed chain does not reproduce."""
        since = f" after position {self.passed_digest.position}" if self.passed_digest else ""
        return self.fail(
            "altered",
            digest.position,
            f"the log no longer matches the digest saved at {digest.time} for position "
            f"{digest.position}: an event at or before position {digest.position}{since} "
            "was altered, removed or inserted, and the stored chain was rewritten to hide it",
        )

    def step(self, record: StoredRecord) -> VerifyReport | None:
        """Check one record against the links and digests; return a failure or None."""
        p = record.position
        if self.last_position is not None and p <= self.last_position:
            kind: Problem = "inserted" if p == self.last_position else "reordered"
            return self.fail(kind, p, f"event at position {p} is out of order in the log ({kind})")
        if self.last_position is None:
            self.skip_before(p)
        if self.have_links and self.next_link is not None and self.next_link.position < p:
            return self.missing_link_event(self.next_link)
        if self.digests and self.digests[0].position < p:
            return self.missed_digest(self.digests[0])
        computed = record.hash_after(self.current)
        if self.have_links:
            link = self.next_link
            if link is None or link.position != p:
                return self.fail(
                    "inserted",
                    p,
                    f"event at position {p} was inserted: it has no link in the chain",
                )
            if link.hash != computed:
                return self.mismatch(record, link.hash)
            self.advance_link()
        if self.digests and self.digests[0].position == p:
            digest = self.digests.popleft()
            if digest.hash != computed:
                return self.digest_mismatch(digest)
            self.passed_digest = digest
        self.history.append((p, self.current))
        self.current = computed
        self.last_position = p
        self.checked += 1
        self.head = ChainLink(p, computed)
        return None

    def finish(self) -> VerifyReport:
        """Check what remains after the last record."""
        candidates: list[tuple[int, VerifyReport]] = []
        if self.have_links and self.next_link is not None:
            candidates.append((self.next_link.position, self.missing_link_event(self.next_link)))
        if self.digests:
            candidates.append((self.digests[0].position, self.missed_digest(self.digests[0])))
        if candidates:
            return min(candidates, key=lambda c: c[0])[1]
        where = f"up to position {self.head.position}" if self.head else "(the log is empty)"
        return VerifyReport(
            True,
            self.checked,
            self.head,
            None,
            None,
            f"{self.checked} event(s) verified {where}",
        )


def verify(
    records: Iterable[StoredRecord],
    links: Mapping[int, str] | Iterable[ChainLink] | None,
    digests: Sequence[Digest] = (),
    start_hash: str = GENESIS,
    *,
    start_position: int | None = None,
) -> VerifyReport:
    """Recompute the chain over records and report the first place it stops matching."""
    if start_position is None and start_hash == GENESIS:
        start_position = 0
    walk = _Walk(records, links, digests, start_hash, start_position)
    while walk.records.peek() is not None:
        failure = walk.step(walk.records.pop())
        if failure is not None:
            return failure
    return walk.finish()
