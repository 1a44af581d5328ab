"""Evidence packs for a period: its events, signed digests at both ends, every report."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection

from craton.bootstrap import Services
from craton.db import EVENTS_TABLE
from craton.domain.errors import DomainError
from craton.ledger.chain import GENESIS, StoredRecord, VerifyReport, verify
from craton.ledger.digest import Digest, rfc3339
from craton.ledger.evidence import event_entry, write_pack
from craton.ledger.sql import link_before, load_links, load_records
from craton.progress import counted
from craton.proofs import period_against_digests
from craton.reports.base import Window
from craton.reports.registry import load_reports
from craton.reports.render import FORMATS, render
from craton.reports.window import resolve_window
from craton.schema import CHAIN


class TamperedLog(DomainError):
    """The period's events do not reproduce their chain: no evidence is written from them."""

    status = 409


@dataclass(frozen=True)
class EvidenceResult:
    """What was written: where, which window, and the verification of its events."""

    path: Path | None
    window: Window
    events: int
    start: Digest
    end: Digest
    check: VerifyReport


def _sign(svc: Services, start: Digest, end: Digest) -> tuple[Digest, Digest, bytes | None]:
    """Both digests signed with the configured key (loaded once), and its public half."""
    if svc.settings.signing_key is None:
        return start, end, None
    from craton.ledger.signing import load_private_key, public_key_pem, sign_digest

    key = load_private_key(svc.settings.signing_key)
    return sign_digest(start, key), sign_digest(end, key), public_key_pem(key)


def _reports(svc: Services, conn: Connection, window: Window) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    for name, report in load_reports(svc.settings).items():
        data = report.compute(conn, window, None)
        for fmt in FORMATS:
            files[f"reports/{name}.{fmt}"] = render(data, fmt).encode("utf-8")
    return files


def _check(records: list[StoredRecord], links: dict[int, str], start: Digest,
           window: Window) -> VerifyReport:
    """The period's events against their chain (saved digests: ``period_against_digests``)."""
    report = verify(records, links, start_hash=start.hash, start_position=start.position)
    last = records[-1].position if records else window.after
    if report.ok and last < window.until:
        return VerifyReport(False, report.checked, report.head, "truncated", window.until,
                            f"the log was cut short: events are recorded up to position "
                            f"{window.until}, but the stored log ends at position {last}")
    return report


def build_evidence(svc: Services, path: str | Path, start: str | None, end: str | None,
                   digests: Sequence[Digest] = (), allow_tampered: bool = False,
                   public_keys: Sequence[Path] = (), show_progress: bool | None = None
                   ) -> EvidenceResult:
    """Write the evidence pack of the period from ``start`` to ``end`` (see resolve_window).
    Reading and writing the events show their progress on a terminal (``show_progress``).

    The period's events are checked against their chain (and saved digests) first;
    a log that fails is refused unless ``allow_tampered``, which writes the pack
    anyway so that its verifier shows the damage. Saved digests' signatures are
    checked against the configured key and ``public_keys``.
    """
    with svc.db.reading() as conn:
        window = resolve_window(conn, start, end)
        # Without an end, the period runs to the stored log's own head, so that
        # events slipped in behind the read models are exported (and caught) too.
        stop = None if end is None else window.until + 1
        records = list(counted(load_records(conn, EVENTS_TABLE, start=window.after + 1,
                                            stop=stop), "evidence: reading events",
                               window.until - window.after if end is not None else None,
                               enabled=show_progress))
        links = {link.position: link.hash for link in load_links(
            conn, CHAIN.name, start=window.after + 1, stop=stop)}
        first = records[0].position if records else window.after + 1
        before = link_before(conn, first, CHAIN)
        now = rfc3339()
        start_digest = Digest(before.position if before else 0,
                              before.hash if before else GENESIS, now)
        end_digest = start_digest
        if links:
            last = max(links)
            end_digest = Digest(last, links[last], now)
        check = period_against_digests(_check(records, links, start_digest, window),
                                       conn, digests, svc.settings.signing_key,
                                       public_keys)
        if not check.ok and not allow_tampered:
            raise TamperedLog(f"no evidence written: {check.message}")
        extra = _reports(svc, conn, window)
    start_digest, end_digest, public_key = _sign(svc, start_digest, end_digest)
    extra["period.json"] = (json.dumps({
        "window": window.to_dict(), "events": len(records),
        "verified_when_written": check.ok, "verification": check.message,
    }, indent=2) + "\n").encode("utf-8")
    entries = (event_entry(r, links.get(r.position, "")) for r in records)
    written = write_pack(path, counted(entries, "evidence: writing events", len(records),
                                       enabled=show_progress),
                         start_digest, end_digest, public_key, extra)
    return EvidenceResult(written, window, len(records), start_digest, end_digest, check)
