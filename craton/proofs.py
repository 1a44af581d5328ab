"""The ledger's proofs: the chain head as a digest, and verification of the chain.

Saved digests are checked in two ways. Their hash must match the chain
recomputed from the stored events at their position, whether or not they are
signed. Their signature is checked against the trusted keys: the configured
key (``CRATON_SIGNING_KEY``) and any public keys given (``--public-key``: an
auditor's copy, or keys retired by a rotation). A signature that none of them
verifies is refused (DigestError). A digest that cannot have its signature
checked (it is unsigned, or no key is known) is still checked by its hash,
and the verification's message says that its signature was not checked: its
authority is then only that of wherever it was kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from sqlalchemy import Connection

from craton.bootstrap import Services
from craton.db import EVENTS_TABLE
from craton.ledger.chain import GENESIS, VerifyReport, verify
from craton.ledger.digest import Digest, DigestError, rfc3339
from craton.ledger.sql import head_link, load_links, load_records
from craton.schema import CHAIN


def current_digest(svc: Services) -> Digest:
    """The chain head now, signed with the configured Ed25519 key if there is one."""
    with svc.db.reading() as conn:
        link = head_link(conn, CHAIN)
    digest = Digest(position=link.position if link else 0,
                    hash=link.hash if link else GENESIS, time=rfc3339())
    key_path = svc.settings.signing_key
    if key_path is not None:
        from craton.ledger.signing import load_private_key, sign_digest

        digest = sign_digest(digest, load_private_key(key_path))
    return digest


@dataclass(frozen=True)
class TrustedKey:
    """A public key a digest's signature may be checked against, and its key id."""

    pem: bytes
    key_id: str
    configured: bool  # the public half of CRATON_SIGNING_KEY, not a --public-key


def trusted_keys(signing_key: Path | None, public_keys: Sequence[Path] = ()
                 ) -> list[TrustedKey]:
    """The configured key's public half, then each public key given (an auditor's, or
    one retired by a rotation); SigningKeyError for a file that holds no usable key."""
    from craton.ledger.signing import (
        key_id,
        load_private_key,
        load_public_key,
        public_key_pem,
    )

    keys = []
    if signing_key is not None:
        private = load_private_key(signing_key)
        keys.append(TrustedKey(public_key_pem(private), key_id(private), configured=True))
    for path in public_keys:
        public = load_public_key(path)
        keys.append(TrustedKey(public_key_pem(public), key_id(public), configured=False))
    return keys


def signature_notes(digests: Sequence[Digest], signing_key: Path | None,
                    public_keys: Sequence[Path] = ()) -> list[str]:
    """What was checked of each digest's signature; DigestError for one that fails.

    The key id a digest names is not covered by its signature, so every signed
    digest is checked against every trusted key (the configured one and each
    public key given), whatever id it names: one of them must verify it.
    """
    if not public_keys and (signing_key is None or not any(d.signature for d in digests)):
        return [_unchecked(d) for d in digests]
    keys = trusted_keys(signing_key, public_keys)
    return [_checked(d, keys) for d in digests]


def _unchecked(digest: Digest) -> str:
    """Why a digest's signature was not checked."""
    if digest.signature:
        return "signature not checked: no CRATON_SIGNING_KEY"
    return "unsigned: signature not checked"


def _checked(digest: Digest, keys: Sequence[TrustedKey]) -> str:
    """The note of a digest checked against the trusted keys; DigestError if none
    verifies its signature."""
    from craton.ledger.signing import verify_digest_signature

    if not digest.signature:
        return _unchecked(digest)
    for key in keys:
        if verify_digest_signature(digest, key.pem):
            return f"signature valid, {key.key_id}"
    raise DigestError(_bad_signature(digest, keys))


def _bad_signature(digest: Digest, keys: Sequence[TrustedKey]) -> str:
    """The refusal of a digest whose signature no trusted key verifies."""
    ids = [key.key_id for key in keys]
    named = digest.key_id if digest.key_id and digest.key_id not in ids else None
    other = f" (it names the key {named})" if named else ""
    if len(keys) == 1:
        which = "the configured signing key" if keys[0].configured else "the key"
        against = f"{which} {ids[0]}"
    else:
        against = "any of the keys " + ", ".join(ids)
    return (f"{digest.label}: its signature does not verify with {against}{other}; "
            "the digest is refused")


def _matches(digests: Sequence[Digest], notes: Sequence[str]) -> str:
    """Each digest a verification matched, and what was checked of its signature."""
    return "; ".join(f"the digest for position {d.position} matches ({note})"
                     for d, note in zip(digests, notes, strict=True))


def _joined(report: VerifyReport, matches: str) -> VerifyReport:
    """An intact report whose message also names the digests it matched."""
    if not report.ok or not matches:
        return report
    return replace(report, message=f"{report.message}; {matches}")


def _check_through(conn: Connection, digests: Sequence[Digest], signing_key: Path | None,
                   stop: int | None, public_keys: Sequence[Path] = ()
                   ) -> tuple[VerifyReport, str]:
    """The chain from the log's start up to (not including) stop, or its end, and the
    digests it matched, in words."""
    notes = signature_notes(digests, signing_key, public_keys)
    report = verify(load_records(conn, EVENTS_TABLE, stop=stop),
                    load_links(conn, CHAIN.name, stop=stop), digests=digests)
    return report, _matches(digests, notes)


def _past_last(digests: Sequence[Digest]) -> int:
    """Where checking the log against digests may stop: after the last of them."""
    return max((d.position for d in digests), default=0) + 1


def verify_ledger(svc: Services, digests: Sequence[Digest] = (),
                  public_keys: Sequence[Path] = ()) -> VerifyReport:
    """Recompute the whole chain from the stored events and compare with links and
    digests (signed ones checked against the configured key and ``public_keys``)."""
    with svc.db.reading() as conn:
        return _joined(*_check_through(conn, digests, svc.settings.signing_key, None,
                                       public_keys))


def period_against_digests(period: VerifyReport, conn: Connection, digests: Sequence[Digest],
                           signing_key: Path | None, public_keys: Sequence[Path] = ()
                           ) -> VerifyReport:
    """A period's verification, then its saved digests checked against the whole log
    before them: the first failure, or the period's report naming the digests it matched.

    A digest vouches for every event up to its position, not for one period of
    them, and a digest past a period's end says nothing of a log cut short.
    """
    if not period.ok or not digests:
        return period
    against, matches = _check_through(conn, digests, signing_key, _past_last(digests),
                                      public_keys)
    return _joined(period, matches) if against.ok else against
