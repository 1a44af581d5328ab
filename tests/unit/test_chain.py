"""Tests of the hash chain and its verification."""

from __future__ import annotations

import json
import uuid
from dataclasses import replace

import pytest

from craton.ledger.chain import (
    GENESIS,
    ChainLink,
    Digest,
    StoredRecord,
    canonical_bytes,
    chain_hash,
    extend,
    verify,
)
from craton.ledger.digest import DigestError

TIME = "2025-01-01T00:00:00.000000Z"


def make_records(positions: list[int]) -> list[StoredRecord]:
    """Build records for the positions, spread over three aggregates."""
    ids = [str(uuid.UUID(int=n + 1)) for n in range(3)]
    versions = {i: 0 for i in ids}
    records = []
    for position in positions:
        originator = ids[position % 3]
        versions[originator] += 1
        state = json.dumps({"position": position, "cpu": position * 2}).encode()
        records.append(
            StoredRecord(position, originator, versions[originator], "fleet:Changed", state)
        )
    return records


def links_of(records: list[StoredRecord]) -> dict[int, str]:
    """Return the honest stored links of the records."""
    return {link.position: link.hash for link in extend(GENESIS, records)}


def digest_at(records: list[StoredRecord], position: int) -> Digest:
    """Return a digest saved when the log was intact."""
    return Digest(position, links_of(records)[position], TIME)


RECORDS = make_records(list(range(1, 21)))
LINKS = links_of(RECORDS)


def test_intact_log_verifies() -> None:
    report = verify(RECORDS, LINKS, [digest_at(RECORDS, 10), digest_at(RECORDS, 20)])
    assert report.ok, report.message
    assert report.checked == 20
    assert report.head == ChainLink(20, LINKS[20])
    assert report.problem is None and report.position is None


def test_gaps_in_positions_are_normal() -> None:
    records = make_records([1, 2, 5, 6, 9, 30, 31])
    report = verify(records, links_of(records), [digest_at(records, 9)])
    assert report.ok, report.message
    assert report.checked == 7


def test_links_accepted_as_iterable_of_chain_links() -> None:
    assert verify(RECORDS, extend(GENESIS, RECORDS)).ok


def test_changed_byte_in_state_is_altered() -> None:
    tampered = list(RECORDS)
    state = bytearray(tampered[6].state)
    state[3] ^= 0x01
    tampered[6] = replace(tampered[6], state=bytes(state))
    report = verify(tampered, LINKS)
    assert not report.ok
    assert (report.problem, report.position) == ("altered", 7)
    assert report.message == (
        "event at position 7 was altered: its hash no longer matches the chain"
    )
    assert report.checked == 6
    assert report.head == ChainLink(6, LINKS[6])


def test_deleted_event_is_removed() -> None:
    tampered = [r for r in RECORDS if r.position != 8]
    report = verify(tampered, LINKS)
    assert (report.ok, report.problem, report.position) == (False, "removed", 8)


def test_deleted_event_and_link_is_removed_where_the_chain_breaks() -> None:
    tampered = [r for r in RECORDS if r.position != 8]
    links = {p: h for p, h in LINKS.items() if p != 8}
    report = verify(tampered, links)
    assert (report.problem, report.position) == ("removed", 9)
    assert "between positions 7 and 9" in report.message


def test_forged_event_without_link_is_inserted() -> None:
    records = make_records([1, 2, 3, 5, 6])
    forged = StoredRecord(4, records[0].originator_id, 9, "fleet:Changed", b"{}")
    tampered = [*records[:3], forged, *records[3:]]
    report = verify(tampered, links_of(records))
    assert (report.problem, report.position) == ("inserted", 4)


def test_forged_event_at_the_tail_is_inserted() -> None:
    forged = StoredRecord(21, RECORDS[0].originator_id, 99, "fleet:Changed", b"{}")
    report = verify([*RECORDS, forged], LINKS)
    assert (report.problem, report.position) == ("inserted", 21)


def test_forged_event_with_forged_link_is_inserted() -> None:
    records = make_records([1, 2, 3, 5, 6])
    links = links_of(records)
    forged = StoredRecord(4, records[0].originator_id, 9, "fleet:Changed", b"{}")
    links[4] = forged.hash_after(links[3])
    report = verify([*records[:3], forged, *records[3:]], links)
    assert (report.problem, report.position) == ("inserted", 4)


def test_swapped_contents_are_reordered() -> None:
    tampered = list(RECORDS)
    a, b = tampered[4], tampered[11]
    tampered[4] = b.content_at(a.position)
    tampered[11] = a.content_at(b.position)
    report = verify(tampered, LINKS)
    assert (report.problem, report.position) == ("reordered", 5)


def test_swapped_rows_are_reordered() -> None:
    tampered = list(RECORDS)
    tampered[4], tampered[5] = tampered[5], tampered[4]
    report = verify(tampered, LINKS)
    assert (report.problem, report.position) == ("reordered", 5)


def test_swapped_rows_without_links_are_reordered() -> None:
    tampered = list(RECORDS)
    tampered[4], tampered[5] = tampered[5], tampered[4]
    report = verify(tampered, None)
    assert (report.problem, report.position) == ("reordered", 5)


def test_truncated_tail_against_a_saved_digest() -> None:
    digest = digest_at(RECORDS, 20)
    cut = RECORDS[:15]
    report = verify(cut, links_of(cut), [digest])
    assert (report.problem, report.position) == ("truncated", 20)
    assert "ends at position 15" in report.message
    assert report.checked == 15


def test_truncated_events_with_links_left_behind() -> None:
    report = verify(RECORDS[:15], LINKS)
    assert (report.problem, report.position) == ("truncated", 16)


def test_rewritten_links_are_caught_by_the_first_failing_digest() -> None:
    tampered = list(RECORDS)
    tampered[11] = replace(tampered[11], state=b'{"cpu": 0}')
    rewritten = links_of(tampered)
    digests = [digest_at(RECORDS, p) for p in (5, 15, 20)]
    report = verify(tampered, rewritten, digests)
    assert (report.ok, report.problem, report.position) == (False, "altered", 15)
    assert "after position 5" in report.message
    assert verify(tampered, rewritten).ok


def test_digests_alone_detect_removal_at_the_digest_position() -> None:
    tampered = [r for r in RECORDS if r.position != 10]
    report = verify(tampered, None, [digest_at(RECORDS, 10)])
    assert (report.problem, report.position) == ("removed", 10)


def test_digests_alone_detect_an_earlier_removal() -> None:
    tampered = [r for r in RECORDS if r.position != 3]
    report = verify(tampered, None, [digest_at(RECORDS, 10)])
    assert (report.problem, report.position) == ("altered", 10)


def test_verification_from_a_midpoint() -> None:
    tail = RECORDS[10:]
    links = {p: h for p, h in LINKS.items() if p > 10}
    report = verify(tail, links, [digest_at(RECORDS, 15)], LINKS[10], start_position=10)
    assert report.ok, report.message
    wrong = verify(tail, links, (), LINKS[9], start_position=10)
    assert (wrong.problem, wrong.position) == ("altered", 11)


def test_empty_log() -> None:
    assert verify([], {}).ok
    report = verify([], {}, [digest_at(RECORDS, 3)])
    assert (report.problem, report.position) == ("truncated", 3)


def test_canonical_bytes_normalise_the_originator_id() -> None:
    value = uuid.UUID("12345678-9abc-def0-1234-56789abcdef0")
    forms: list[object] = [value, value.hex, str(value), str(value).upper(), value.bytes]
    encodings = {canonical_bytes(1, f, 2, "t", b"s") for f in forms}  # type: ignore[arg-type]
    assert len(encodings) == 1


def test_the_encoding_and_the_hash_of_a_record_are_fixed() -> None:
    """The chain's format, spelt out: a stored chain must verify under later code."""
    oid = "00000000-0000-0000-0000-000000000001"
    fields = [b"craton.ledger.chain.v1", b"7", oid.encode(), b"3",
              b"craton.domain.Host.Registered", b'{"a":1}']
    expected = b"".join(len(f).to_bytes(8, "big") + f for f in fields)
    for form in (oid, oid.upper(), f" {oid} ", uuid.UUID(oid)):
        encoded = canonical_bytes(7, form, 3, "craton.domain.Host.Registered",  # type: ignore[arg-type]
                                  b'{"a":1}')
        assert encoded == expected
    assert chain_hash("0" * 64, expected) == (
        "343ada2a878d27abe409cf47a1a5c2af216e4e77a1a7e6bd2fb66520ff380f12")


def test_canonical_bytes_are_unambiguous() -> None:
    oid = str(uuid.UUID(int=1))
    assert canonical_bytes(1, oid, 1, "ab", b"c") != canonical_bytes(1, oid, 1, "a", b"bc")
    assert canonical_bytes(12, oid, 1, "t", b"") != canonical_bytes(1, oid, 21, "t", b"")


def test_chain_hash_is_sha256_of_previous_and_canonical() -> None:
    import hashlib

    canonical = b"payload"
    expected = hashlib.sha256(bytes(32) + canonical).hexdigest()
    assert GENESIS == "0" * 64
    assert chain_hash(GENESIS, canonical) == expected
    with pytest.raises(ValueError):
        chain_hash("abc", canonical)


def test_extend_requires_increasing_positions() -> None:
    with pytest.raises(ValueError):
        extend(GENESIS, [RECORDS[1], RECORDS[0]])


def test_digest_json_round_trip() -> None:
    digest = Digest(7, LINKS[7], TIME, "c2ln", "ed25519:00")
    assert Digest.from_json(digest.to_json()) == digest
    with pytest.raises(ValueError):
        Digest.from_json(json.dumps({"position": 1, "hash": "xyz", "time": TIME}))


def test_an_altered_chain_record_beside_an_intact_event_is_told_apart() -> None:
    links = dict(LINKS)
    links[7] = "ab" * 32
    report = verify(RECORDS, links)
    assert (report.ok, report.problem, report.position) == (False, "altered", 7)
    assert report.message.startswith("the chain record at position 7 does not match its event")


def test_an_altered_chain_record_at_the_head_is_told_apart_by_a_digest() -> None:
    links = dict(LINKS)
    links[20] = "ab" * 32
    report = verify(RECORDS, links, [digest_at(RECORDS, 20)])
    assert report.message.startswith("the chain record at position 20 does not match")
    alone = verify(RECORDS, links)
    assert alone.message == (
        "event at position 20 or its chain record was altered: the two no longer match")


def test_an_altered_event_at_the_head_is_told_apart_by_a_digest() -> None:
    tampered = [*RECORDS[:-1], replace(RECORDS[-1], state=b"{}")]
    report = verify(tampered, LINKS, [digest_at(RECORDS, 20)])
    assert report.message.startswith("event at position 20 was altered")


def test_a_random_digest_hash_fails_at_its_position() -> None:
    report = verify(RECORDS, LINKS, [Digest(12, "ab" * 32, TIME)])
    assert (report.ok, report.problem, report.position) == (False, "altered", 12)
    assert report.message.startswith(
        f"the log does not match the digest saved at {TIME} for position 12")
    assert "or the digest was not made from this log" in report.message


def test_every_digest_for_one_position_is_checked() -> None:
    good = digest_at(RECORDS, 9)
    assert verify(RECORDS, LINKS, [good, good]).ok
    report = verify(RECORDS, LINKS, [good, Digest(9, "ab" * 32, TIME)])
    assert (report.ok, report.position) == (False, 9)


def test_a_digest_before_the_start_is_refused_not_skipped() -> None:
    tail = RECORDS[10:]
    links = {p: h for p, h in LINKS.items() if p > 10}
    with pytest.raises(DigestError, match="cannot be checked against the events after "
                                          "position 10"):
        verify(tail, links, [digest_at(RECORDS, 4)], LINKS[10], start_position=10)
    with pytest.raises(DigestError):
        verify(RECORDS, LINKS, [Digest(0, "ab" * 32, TIME)])
    assert verify(RECORDS, LINKS, [Digest(0, GENESIS, TIME)]).ok


def test_a_digest_at_the_start_is_checked_against_the_start_hash() -> None:
    tail = RECORDS[10:]
    links = {p: h for p, h in LINKS.items() if p > 10}
    assert verify(tail, links, [digest_at(RECORDS, 10)], LINKS[10], start_position=10).ok
    report = verify(tail, links, [Digest(10, "ab" * 32, TIME)], LINKS[10], start_position=10)
    assert (report.ok, report.position) == (False, 10)


def test_a_digest_past_an_empty_log_says_the_log_is_empty() -> None:
    report = verify([], {}, [digest_at(RECORDS, 3)])
    assert "but the log is empty" in report.message
