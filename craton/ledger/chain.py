"""Verification of the hash chain over the stored event log."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Generic, TypeVar

from craton.ledger.digest import Digest, DigestError
from craton.ledger.evidence_verify import GENESIS, canonical_bytes, chain_hash
from craton.ledger.records import (
    ChainLink,
    Problem,
    StoredRecord,
    UnreadableRecord,
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


T = TypeVar("T")


class _Peekable(Generic[T]):
    """An iterator that can look ahead without consuming."""

    def __init__(self, items: Iterable[T]) -> None:
        self._items: Iterator[T] = iter(items)
        self._buffer: deque[T] = deque()

    def _fill(self, count: int) -> None:
        while len(self._buffer) < count:
            try:
                self._buffer.append(next(self._items))
            except StopIteration:
                return

    def peek(self) -> T | None:
        """Return the next item without consuming it."""
        self._fill(1)
        return self._buffer[0] if self._buffer else None

    def take(self) -> T | None:
        """Consume and return the next item, or None at the end."""
        self._fill(1)
        return self._buffer.popleft() if self._buffer else None

    def ahead(self, count: int) -> list[T]:
        """Return up to count upcoming items without consuming them."""
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
        self.links = _Peekable(_link_iter(links))
        self.next_link: ChainLink | None = self.links.take()
        self.digests = deque(sorted(digests, key=lambda d: d.position))
        self.current = start_hash
        self.last_position = start_position
        self.checked = 0
        self.head: ChainLink | None = None
        self.history: deque[tuple[int, str]] = deque(maxlen=LOOKBACK)
        self.passed_digest: Digest | None = None

    def fail(self, problem: Problem, position: int, message: str) -> VerifyReport:
        """Build a failed report at position."""
        return VerifyReport(False, self.checked, self.head, problem, position, message)

    def advance_link(self) -> None:
        """Move to the next stored link."""
        self.next_link = self.links.take()

    def check_start(self) -> VerifyReport | None:
        """Check the digests at the start position against the start hash.

        A digest before the start cannot be checked by this pass; it is refused
        rather than dropped, so that no digest is ever reported as passed unseen.
        """
        start = self.last_position
        if start is None:
            return None
        for digest in self.digests:
            if digest.position < start or (digest.position == 0 and digest.hash != GENESIS):
                raise _uncheckable(digest, start)
        return self.match_digests(start, self.current)

    def match_digests(self, position: int, chain_hash: str) -> VerifyReport | None:
        """Check every digest saved for position against the chain hash there."""
        while self.digests and self.digests[0].position == position:
            digest = self.digests.popleft()
            if digest.hash != chain_hash:
                return self.digest_mismatch(digest)
            self.passed_digest = digest
        return None

    def skip_before(self, position: int) -> None:
        """Drop links before the first record when the start position is unknown."""
        while self.next_link is not None and self.next_link.position < position:
            self.advance_link()
        if self.digests and self.digests[0].position < position:
            raise _uncheckable(self.digests[0], position - 1)

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

    def chain_continues_from(self, position: int, chain_hash: str) -> bool | None:
        """Tell whether the chain after position goes on from chain_hash (None: nothing to tell).

        The next stored link was computed from the true hash at position, so it tells
        an altered event (the chain goes on from the stored link) from an altered
        link (the chain goes on from the event's recomputed hash). At the head, only
        a digest for the position can tell.
        """
        if self.digests and self.digests[0].position == position:
            return self.digests[0].hash == chain_hash
        following, link = self.records.peek(), self.links.peek()
        if following is None or link is None or following.position != link.position:
            return None
        return following.hash_after(chain_hash) == link.hash

    def link_altered(self, position: int) -> VerifyReport:
        """Report a chain record altered beside its intact event."""
        return self.fail(
            "altered",
            position,
            f"the chain record at position {position} does not match its event: the event "
            "is intact (the chain goes on from its hash), its stored hash was altered",
        )

    def altered(self, p: int, stored_hash: str) -> VerifyReport:
        """Report an altered event, or say that the event or its chain record was."""
        if self.chain_continues_from(p, stored_hash) is None:
            return self.fail(
                "altered",
                p,
                f"event at position {p} or its chain record was altered: "
                "the two no longer match",
            )
        return self.fail(
            "altered",
            p,
            f"event at position {p} was altered: its hash no longer matches the chain",
        )

    def mismatch(self, record: StoredRecord, computed: str, stored_hash: str) -> VerifyReport:
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
        if self.chain_continues_from(p, computed):
            return self.link_altered(p)
        # A deleted event and link leave exactly this trace; positions cannot tell more.
        if self.last_position is not None and p - self.last_position > 1:
            return self.fail(
                "removed",
                p,
                f"the chain breaks at position {p}: an event between positions "
                f"{self.last_position} and {p} was removed (or the event at {p} was altered)",
            )
        return self.altered(p, stored_hash)

    def absent(
        self, position: int, recorded: str, covers: str, doubt: str = "",
        later: StoredRecord | None = None, stored_hash: str | None = None,
    ) -> VerifyReport:
        """Classify a position that a link or digest vouches for but no event holds.

        ``later`` is the record being checked, past the position, if any; with the
        hash vouched for, it tells an event moved there. ``recorded`` and ``covers``
        name the witness in the truncated and removed messages; ``doubt`` ends them
        with what else the witness's claim may mean.
        """
        if self.position_ahead(position):
            return self.fail(
                "reordered",
                position,
                f"event at position {position} was reordered: it appears out of order",
            )
        moved = self.moved_to(position, stored_hash, later)
        if moved is not None:
            return self.fail(
                "reordered",
                position,
                f"event at position {position} was moved: the log holds it at position "
                f"{moved}",
            )
        if later is None and self.records.peek() is None:
            return self.fail(
                "truncated",
                position,
                f"the log was cut short{doubt}: {recorded} position {position}, "
                f"but {self.log_end()}",
            )
        return self.fail(
            "removed",
            position,
            f"event at position {position} was removed{doubt}: {covers} "
            "but the log has no such event",
        )

    def moved_to(self, position: int, stored_hash: str | None,
                 later: StoredRecord | None) -> int | None:
        """Where the log holds the event the hash vouches for at position, if it holds
        it later (the record being checked, or one just ahead)."""
        if stored_hash is None:
            return None
        candidates = ([later] if later is not None else []) + self.records.ahead(LOOKAHEAD)
        for record in candidates:
            if record.content_at(position).hash_after(self.current) == stored_hash:
                return record.position
        return None

    def log_end(self) -> str:
        """Where the records checked end, in words."""
        if self.last_position is None or (self.head is None and self.last_position == 0):
            return "the log is empty"
        return f"the log ends at position {self.last_position}"

    def missing_link_event(
        self, link: ChainLink, later: StoredRecord | None = None
    ) -> VerifyReport:
        """Classify a stored link whose position has no event."""
        return self.absent(
            link.position, "the chain records an event at", "the chain records it",
            later=later, stored_hash=link.hash,
        )

    def missed_digest(self, digest: Digest, later: StoredRecord | None = None) -> VerifyReport:
        """Classify a digest whose position has no event."""
        saved = f"the digest saved at {digest.time}"
        return self.absent(digest.position, f"{saved} covers", f"{saved} covers it",
                           ", or the digest was not made from this log",
                           later=later, stored_hash=digest.hash)

    def digest_mismatch(self, digest: Digest) -> VerifyReport:
        """Report a digest that the recomputed chain does not reproduce."""
        since = f" after position {self.passed_digest.position}" if self.passed_digest else ""
        hidden = ", and the stored chain was rewritten to hide it" if self.have_links else ""
        return self.fail(
            "altered",
            digest.position,
            f"the log does not match {digest.label}: either an event at or before "
            f"position {digest.position}{since} was altered, removed or inserted{hidden}, "
            "or the digest was not made from this log",
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
            return self.missing_link_event(self.next_link, record)
        if self.digests and self.digests[0].position < p:
            return self.missed_digest(self.digests[0], record)
        if isinstance(record, UnreadableRecord):
            return self.fail("altered", p, f"event at position {p} was altered: {record.reason}")
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
                return self.mismatch(record, computed, link.hash)
            self.advance_link()
        failure = self.match_digests(p, computed)
        if failure is not None:
            return failure
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


def _uncheckable(digest: Digest, start: int) -> DigestError:
    """The refusal of a digest that lies before the events a pass checks."""
    if digest.position < 1:
        return DigestError(f"{digest.label}: position 0 is the empty log, whose only hash "
                           "is the genesis hash; a digest of events names a position of 1 "
                           "or more")
    return DigestError(
        f"{digest.label} cannot be checked against the events after position {start}: "
        "check it against the whole log"
    )


def verify(
    records: Iterable[StoredRecord],
    links: Mapping[int, str] | Iterable[ChainLink] | None,
    digests: Sequence[Digest] = (),
    start_hash: str = GENESIS,
    *,
    start_position: int | None = None,
) -> VerifyReport:
    """Recompute the chain over records and report the first place it stops matching.

    ``records`` are taken to run to the end of the log: a digest past the last of
    them is reported as a log cut short. A digest before the start position cannot
    be checked here and raises DigestError rather than pass unchecked.
    """
    if start_position is None and start_hash == GENESIS:
        start_position = 0
    walk = _Walk(records, links, digests, start_hash, start_position)
    failure = walk.check_start()
    if failure is not None:
        return failure
    while (record := walk.records.take()) is not None:
        failure = walk.step(record)
        if failure is not None:
            return failure
    return walk.finish()
