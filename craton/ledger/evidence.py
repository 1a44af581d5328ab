"""Building evidence packs: events, digests, key and a standalone verifier in one archive."""

from __future__ import annotations

import base64
import io
import json
import os
import tarfile
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from craton.ledger import evidence_verify
from craton.ledger.chain import StoredRecord
from craton.ledger.digest import Digest

RESERVED = frozenset(
    {
        evidence_verify.EVENTS_FILE,
        evidence_verify.DIGESTS_FILE,
        evidence_verify.PUBLIC_KEY_FILE,
        "README.txt",
        "verify.py",
    }
)

README = """\
Evidence pack of the craton event ledger
========================================

events.jsonl    one JSON object per event: position, originator_id, version,
                topic, state_b64 (the stored state, base64) and chain_hash.
digests.json    "start": the chain hash just before the first event;
                "end": the chain hash at the last event.
public_key.pem  (when present) the Ed25519 key that signed the digests.
verify.py       a standalone verifier (Python 3 standard library; checks
                signatures too when the 'cryptography' package is installed).

To verify, extract the archive and run:  python3 verify.py
Exit code 0: the events reproduce the chain and the digests.
Exit code 1: tampering detected (each problem is printed on its own line).
Exit code 2: the pack cannot be read.

Each event's chain_hash is SHA-256(previous hash || canonical encoding), where
the canonical encoding is the tag, position, originator id (lowercase
hyphenated UUID), version, topic and state, each prefixed by its length as
8 big-endian bytes. The pack only proves that its events match its digests:
compare the end digest's hash with a digest you obtained independently, or
check that it is signed by a key you trust.
"""


def event_entry(record: StoredRecord, chain_hash: str) -> dict[str, Any]:
    """Return the events.jsonl object for a record and its chain hash."""
    return {
        "position": record.position,
        "originator_id": record.originator_id,
        "version": record.version,
        "topic": record.topic,
        "state_b64": base64.b64encode(record.state).decode("ascii"),
        "chain_hash": chain_hash,
    }


def _add(archive: tarfile.TarFile, name: str, data: bytes, mode: int = 0o644) -> None:
    """Add one in-memory file to the archive."""
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = mode
    info.mtime = int(time.time())
    archive.addfile(info, io.BytesIO(data))


def verifier_source() -> bytes:
    """Return the source of the standalone verifier."""
    return Path(evidence_verify.__file__).read_bytes()


def write_pack(
    path: str | os.PathLike[str],
    events: Iterable[Mapping[str, Any]],
    start_digest: Digest,
    end_digest: Digest,
    public_key_pem: bytes | None = None,
    extra_files: Mapping[str, bytes] | None = None,
) -> Path:
    """Write an evidence pack (.tar.gz) and return its path."""
    extra = dict(extra_files or {})
    clash = RESERVED.intersection(extra)
    if clash:
        raise ValueError(f"extra files may not replace {sorted(clash)}")
    for name in extra:
        if name.startswith(("/", "..")) or "/../" in name or "\\" in name:
            raise ValueError(f"unsafe file name in pack: {name!r}")
    lines = io.BytesIO()
    for event in events:
        lines.write(json.dumps(dict(event), sort_keys=True).encode("utf-8") + b"\n")
    digests = {"start": start_digest.to_dict(), "end": end_digest.to_dict()}
    target = Path(path)
    with tarfile.open(target, "w:gz") as archive:
        _add(archive, "README.txt", README.encode("utf-8"))
        _add(archive, "verify.py", verifier_source(), 0o755)
        _add(archive, evidence_verify.EVENTS_FILE, lines.getvalue())
        digests_json = json.dumps(digests, indent=2, sort_keys=True) + "\n"
        _add(archive, evidence_verify.DIGESTS_FILE, digests_json.encode())
        if public_key_pem is not None:
            _add(archive, evidence_verify.PUBLIC_KEY_FILE, public_key_pem)
        for name, data in sorted(extra.items()):
            _add(archive, name, data)
    return target
