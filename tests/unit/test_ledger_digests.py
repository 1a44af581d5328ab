"""Saved digests as an operator hands them to ``craton verify``: read, signed, checked."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import text

from craton.bootstrap import Services
from craton.cli import main
from craton.domain.errors import DomainError
from craton.domain.meta import Meta
from craton.ledger.chain import VerifyReport
from craton.ledger.digest import Digest, DigestError, read_digest
from craton.ledger.signing import generate_key, sign_digest
from craton.proofs import current_digest, period_against_digests, verify_ledger
from tests.compliance import tamper
from tests.conftest import make_fleet

HEAD = 12  # make_fleet writes 5 events, then seven variable changes follow
TIME = "2025-01-01T00:00:00.000000Z"
RANDOM_HASH = "5e" * 32


@pytest.fixture
def fleet(services: Services) -> Iterator[Services]:
    """A log of HEAD events on SQLite and on PostgreSQL."""
    made = make_fleet(services)
    meta: Meta = made["meta"]  # type: ignore[assignment]
    host_id = made["host"]["id"]  # type: ignore[index]
    for n in range(7):
        services.ledger.set_variables(meta, "host", host_id, {"n": n})
    yield services


@pytest.fixture
def key(tmp_path: Path) -> Path:
    path = tmp_path / "signing.pem"
    generate_key(path)
    return path


def saved(tmp_path: Path, body: object, name: str = "d.json") -> Path:
    path = tmp_path / name
    path.write_text(body if isinstance(body, str) else json.dumps(body))
    return path


def flipped(digest: Digest) -> Digest:
    """The digest with one byte of its signature changed."""
    assert digest.signature
    raw = bytearray(base64.b64decode(digest.signature))
    raw[5] ^= 0x01
    return replace(digest, signature=base64.b64encode(bytes(raw)).decode("ascii"))


@pytest.mark.parametrize(("body", "problem"), [
    ({}, ": missing 'position', 'hash', 'time'"),
    ({"position": 3, "time": TIME}, ": missing 'hash'"),
    ("not json", " is not JSON"),
    ("[1, 2]", " is not a JSON object"),
    ({"position": 3, "hash": RANDOM_HASH, "time": "x"}, ": 'time' is not an ISO 8601 time: \"x\""),
    ({"position": 3, "hash": "xyz", "time": TIME},
     ": 'hash' is not a SHA-256 hash (64 hex digits): \"xyz\""),
    ({"position": 3, "hash": RANDOM_HASH, "time": TIME, "signature": 7},
     ": 'signature' is not a string: 7"),
])
def test_a_malformed_digest_file_is_named_with_what_is_wrong(
        tmp_path: Path, body: object, problem: str) -> None:
    path = saved(tmp_path, body)
    with pytest.raises(DigestError) as caught:
        read_digest(path)
    assert caught.value.message == f"digest {path}{problem}"


@pytest.mark.parametrize("position", [-1, 1710.5, "5", True, None])
def test_a_position_that_is_not_a_whole_number_is_refused(
        tmp_path: Path, position: object) -> None:
    path = saved(tmp_path, {"position": position, "hash": RANDOM_HASH, "time": TIME})
    with pytest.raises(DigestError, match=r"'position' must be a whole number from 0, not "):
        read_digest(path)


def test_an_unreadable_digest_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(DigestError, match=r"^digest .*nope\.json cannot be read: No such file"):
        read_digest(tmp_path / "nope.json")


def test_digest_errors_are_domain_errors_with_a_short_line() -> None:
    with pytest.raises(DomainError) as caught:
        Digest.from_json(json.dumps({"position": 1, "hash": "f" * 500, "time": TIME}))
    assert len(str(caught.value)) < 120 and "\n" not in str(caught.value)


def test_a_saved_digest_reads_back_as_written(tmp_path: Path) -> None:
    digest = Digest(7, RANDOM_HASH, TIME, "c2ln", "ed25519:00")
    assert read_digest(saved(tmp_path, digest.to_json())) == digest


def test_verify_refuses_a_malformed_digest_in_one_line(
        fleet: Services, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for position in (-1, 1710.5):
        path = saved(tmp_path, {"position": position, "hash": RANDOM_HASH, "time": TIME})
        assert main(["--database-url", fleet.db.url, "verify", "--digest", str(path)]) == 2
        err = capsys.readouterr().err
        assert err.startswith("craton: digest") and err.count("\n") == 1
        assert "'position' must be a whole number from 0" in err
    path = saved(tmp_path, {"position": 0, "hash": RANDOM_HASH, "time": TIME})
    assert main(["--database-url", fleet.db.url, "verify", "--digest", str(path)]) == 2
    said = capsys.readouterr().err  # position 0 with another hash than the empty log's
    assert said.startswith("craton: ") and said.count("\n") == 1
    assert "position 0 is the empty log" in said


def test_the_digest_of_an_empty_log_verifies(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    assert main(["--database-url", url, "init"]) == 0
    path = tmp_path / "empty.json"
    assert main(["--database-url", url, "digest", "-o", str(path)]) == 0
    assert json.loads(path.read_text())["position"] == 0
    assert main(["--database-url", url, "verify", "--digest", str(path)]) == 0


def test_a_digest_whose_hash_is_not_the_chain_fails(fleet: Services) -> None:
    report = verify_ledger(fleet, [Digest(5, RANDOM_HASH, TIME)])
    assert (report.ok, report.problem, report.position) == (False, "altered", 5)
    assert report.message.startswith(f"the log does not match the digest saved at {TIME} "
                                     "for position 5")


def test_a_digest_past_the_head_fails_as_a_log_cut_short(fleet: Services) -> None:
    report = verify_ledger(fleet, [Digest(HEAD + 100, RANDOM_HASH, TIME)])
    assert (report.ok, report.problem) == (False, "truncated")
    assert f"but the log ends at position {HEAD}" in report.message


def test_a_signed_digest_with_an_altered_signature_is_refused(
        fleet: Services, key: Path) -> None:
    fleet.settings = replace(fleet.settings, signing_key=key)
    digest = current_digest(fleet)
    assert verify_ledger(fleet, [digest]).ok
    with pytest.raises(DigestError, match="its signature does not verify with the configured "
                                          "signing key ed25519:"):
        verify_ledger(fleet, [flipped(digest)])


def test_a_signature_by_another_key_is_refused_whatever_key_id_it_names(
        fleet: Services, key: Path, tmp_path: Path) -> None:
    signed = sign_digest(current_digest(fleet), generate_key(tmp_path / "other.pem"))
    fleet.settings = replace(fleet.settings, signing_key=key)
    with pytest.raises(DigestError, match=r"\(it names the key ed25519:"):
        verify_ledger(fleet, [signed])
    own = current_digest(fleet)
    with pytest.raises(DigestError):
        verify_ledger(fleet, [replace(signed, key_id=own.key_id)])


def test_the_output_says_which_signatures_were_not_checked(
        fleet: Services, key: Path) -> None:
    unsigned = current_digest(fleet)
    fleet.settings = replace(fleet.settings, signing_key=key)
    signed = current_digest(fleet)
    report = verify_ledger(fleet, [signed, unsigned])
    assert report.ok, report.message
    assert f"the digest for position {HEAD} matches (signature valid, ed25519:" \
        in report.message
    assert "matches (unsigned: signature not checked)" in report.message
    fleet.settings = replace(fleet.settings, signing_key=None)
    report = verify_ledger(fleet, [signed])
    assert report.ok and report.message.endswith(
        "matches (signature not checked: no CRATON_SIGNING_KEY)")


def test_an_altered_chain_record_is_not_called_an_altered_event(fleet: Services) -> None:
    with tamper.superuser(fleet) as conn:
        conn.execute(text("UPDATE ledger_chain SET hash = :h WHERE position = 8"),
                     {"h": RANDOM_HASH})
    report = verify_ledger(fleet)
    assert (report.problem, report.position) == ("altered", 8)
    assert report.message.startswith("the chain record at position 8 does not match its event")


def test_an_altered_event_is_still_called_one(fleet: Services) -> None:
    tamper.alter_byte(fleet, 8)
    report = verify_ledger(fleet)
    assert report.message.startswith("event at position 8 was altered")


def test_a_digest_is_checked_against_the_log_before_it_not_a_period(fleet: Services) -> None:
    head = current_digest(fleet)
    period = VerifyReport(True, 3, None, None, None, "3 event(s) verified up to position 8")
    report = verify_ledger(fleet, [head])
    assert report.ok, report.message
    assert report.checked == HEAD
    assert not verify_ledger(fleet, [replace(head, hash=RANDOM_HASH)]).ok
    with fleet.db.reading() as conn:
        beyond = period_against_digests(period, conn, [replace(head, position=HEAD + 5)],
                                        None)
    assert (beyond.ok, beyond.problem) == (False, "truncated")
    assert f"the log ends at position {HEAD}" in beyond.message


def test_a_digest_is_checked_against_events_behind_a_period(fleet: Services) -> None:
    early = current_digest(fleet)
    tamper.alter_byte(fleet, 3)
    period = VerifyReport(True, 3, None, None, None, "3 event(s) verified up to position 8")
    with fleet.db.reading() as conn:
        report = period_against_digests(period, conn, [early], None)
    assert (report.ok, report.position) == (False, 3)


def test_a_period_before_a_digest_is_not_called_cut_short(fleet: Services) -> None:
    head = current_digest(fleet)
    period = VerifyReport(True, 3, None, None, None, "3 event(s) verified up to position 8")
    with fleet.db.reading() as conn:
        report = period_against_digests(period, conn, [head], None)
        assert report.ok, report.message
        assert report.message == ("3 event(s) verified up to position 8; the digest for "
                                  f"position {HEAD} matches (unsigned: signature not checked)")
        wrong = period_against_digests(period, conn, [replace(head, hash=RANDOM_HASH)], None)
    assert (wrong.ok, wrong.position) == (False, HEAD)
