"""The ledger's proofs: the chain head as a digest, and verification of the chain."""

from __future__ import annotations

from collections.abc import Sequence

from craton.bootstrap import Services
from craton.db import EVENTS_TABLE
from craton.ledger.chain import VerifyReport, verify
from craton.ledger.digest import Digest, rfc3339
from craton.ledger.sql import head_link, load_links, load_records
from craton.schema import CHAIN


def current_digest(svc: Services) -> Digest:
    """The chain head now, signed with the configured Ed25519 key if there is one."""
    with svc.db.reading() as conn:
        link = head_link(conn, CHAIN)
    from craton.ledger.chain import GENESIS

    digest = Digest(position=link.position if link else 0,
                    hash=link.hash if link else GENESIS, time=rfc3339())
    key_path = svc.settings.signing_key
    if key_path is not None:
        from craton.ledger.signing import load_private_key, sign_digest

        digest = sign_digest(digest, load_private_key(key_path))
    return digest


def verify_ledger(svc: Services, digests: Sequence[Digest] = ()) -> VerifyReport:
    """Recompute the whole chain from the stored events and compare."""
    with svc.db.reading() as conn:
        return verify(load_records(conn, EVENTS_TABLE), load_links(conn, CHAIN.name),
                      digests=digests)
