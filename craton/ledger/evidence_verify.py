"""Standalone verifier for a ledger evidence pack (stdlib only, cryptography optional)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import json
import re
import sys
import tarfile
import uuid
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

GENESIS = "0" * 64
ENCODING_TAG = b"craton.ledger.chain.v1"
EVENTS_FILE = "events.jsonl"
DIGESTS_FILE = "digests.json"
PUBLIC_KEY_FILE = "public_key.pem"

EXIT_OK = 0
EXIT_TAMPERED = 1
EXIT_UNREADABLE = 2


class PackUnreadableError(Exception):
    """The pack cannot be opened or parsed."""


_NORMAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def normalise_uuid(value: object) -> str:
    """Return the lowercase hyphenated form of a UUID given as UUID, str or bytes."""
    if isinstance(value, str) and _NORMAL_UUID.fullmatch(value):
        return value  # in that form already (every stored record's is): nothing to parse
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        raw = bytes(value)
        if len(raw) == 16:
            return str(uuid.UUID(bytes=raw))
        value = raw.decode("ascii")
    if isinstance(value, str):
        return str(uuid.UUID(value.strip()))
    raise TypeError(f"cannot read a UUID from {type(value).__name__}")


def _field(data: bytes) -> bytes:
    """Prefix one field with its length as 8 big-endian bytes."""
    return len(data).to_bytes(8, "big") + data


_TAG_FIELD = _field(ENCODING_TAG)


def canonical_bytes(
    position: int, originator_id: object, version: int, topic: str, state: bytes
) -> bytes:
    """Encode one stored event unambiguously as length-prefixed fields."""
    if isinstance(position, bool) or isinstance(version, bool):
        raise TypeError("position and version must be integers")
    fields = (
        str(int(position)).encode("ascii"),
        normalise_uuid(originator_id).encode("ascii"),
        str(int(version)).encode("ascii"),
        topic.encode("utf-8"),
        bytes(state),
    )
    return b"".join([_TAG_FIELD, *map(_field, fields)])


def chain_hash(previous_hex: str, canonical: bytes) -> str:
    """Return the SHA-256 hex digest of the previous hash bytes followed by the encoding."""
    try:
        previous = bytes.fromhex(previous_hex)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"not a hex hash: {previous_hex!r}") from exc
    if len(previous) != 32:
        raise ValueError(f"not a SHA-256 hash: {previous_hex!r}")
    return hashlib.sha256(previous + canonical).hexdigest()


def digest_message(position: int, hash_hex: str, time: str) -> bytes:
    """Return the canonical JSON bytes that a digest signature covers."""
    body = {"hash": hash_hex, "position": int(position), "time": time}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def check_signature(message: bytes, signature_b64: str, public_key_pem: bytes) -> bool:
    """Check an Ed25519 signature; raise ImportError when cryptography is missing."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    try:
        key = load_pem_public_key(public_key_pem)
        signature = base64.b64decode(signature_b64, validate=True)
    except (ValueError, TypeError, binascii.Error):
        return False
    if not isinstance(key, Ed25519PublicKey):
        return False
    try:
        key.verify(signature, message)
    except InvalidSignature:
        return False
    return True


def _read_members(pack: Path) -> dict[str, bytes]:
    """Read the pack's regular files from a .tar.gz or an extracted directory."""
    wanted = (EVENTS_FILE, DIGESTS_FILE, PUBLIC_KEY_FILE)
    found: dict[str, bytes] = {}
    if pack.is_dir():
        for name in wanted:
            if (pack / name).is_file():
                found[name] = (pack / name).read_bytes()
        return found
    try:
        with tarfile.open(pack, "r:*") as archive:
            for member in archive.getmembers():
                name = member.name.removeprefix("./")
                if name in wanted and member.isfile():
                    handle = archive.extractfile(member)
                    if handle is not None:
                        found[name] = handle.read()
    except (OSError, tarfile.TarError, EOFError) as exc:
        raise PackUnreadableError(f"cannot open {pack}: {exc}") from exc
    return found


def _load_json(data: bytes, what: str) -> Any:
    """Parse JSON or raise PackUnreadableError."""
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise PackUnreadableError(f"{what} is not valid JSON: {exc}") from exc


def _load_events(data: bytes) -> list[dict[str, Any]]:
    """Parse events.jsonl into dictionaries."""
    events: list[dict[str, Any]] = []
    for number, line in enumerate(io.BytesIO(data), start=1):
        if not line.strip():
            continue
        event = _load_json(line, f"{EVENTS_FILE} line {number}")
        if not isinstance(event, dict):
            raise PackUnreadableError(f"{EVENTS_FILE} line {number} is not a JSON object")
        events.append(event)
    return events


def _event_hash(previous: str, event: Mapping[str, Any]) -> str:
    """Recompute one event's chain hash from the previous hash."""
    state = base64.b64decode(str(event["state_b64"]), validate=True)
    canonical = canonical_bytes(
        int(event["position"]),
        event["originator_id"],
        int(event["version"]),
        str(event["topic"]),
        state,
    )
    return chain_hash(previous, canonical)


def check_chain(
    events: Iterable[Mapping[str, Any]],
    start: Mapping[str, Any],
    end: Mapping[str, Any],
) -> list[str]:
    """Recompute the chain over the events and return one line per problem."""
    problems: list[str] = []
    previous = str(start["hash"])
    last_position = int(start["position"])
    hashes: dict[int, str] = {}
    for index, event in enumerate(events, start=1):
        try:
            position = int(event["position"])
            recomputed = _event_hash(previous, event)
        except (KeyError, TypeError, ValueError, OverflowError, binascii.Error) as exc:
            problems.append(f"event #{index} cannot be read: {exc}")
            continue
        if position <= last_position:
            problems.append(
                f"event at position {position} is out of order (after position {last_position})"
            )
        stored = str(event.get("chain_hash", ""))
        if recomputed != stored:
            problems.append(
                f"event at position {position} was altered, inserted or moved: "
                "its hash no longer matches the chain"
            )
            # Continue from the stored hash so that each broken link is reported once.
            previous = stored if len(stored) == 64 else recomputed
        else:
            previous = recomputed
        hashes[position] = recomputed
        last_position = max(last_position, position)
    end_position = int(end["position"])
    if end_position == int(start["position"]):
        if str(end["hash"]) != str(start["hash"]):
            problems.append("the end digest does not match the start digest of an empty period")
    elif end_position not in hashes:
        problems.append(
            f"the event at position {end_position} named by the end digest is missing "
            f"(the events end at position {last_position})"
        )
    elif hashes[end_position] != str(end["hash"]):
        problems.append(
            f"the events up to position {end_position} do not reproduce the end digest: "
            "events were altered, removed or inserted"
        )
    elif end_position != last_position:
        problems.append(f"events after the end digest's position {end_position} were added")
    return problems


def check_signatures(
    digests: Sequence[tuple[str, Mapping[str, Any]]], public_key_pem: bytes | None
) -> tuple[list[str], list[str]]:
    """Check digest signatures; return (problems, notes)."""
    if public_key_pem is None:
        return [], ["no public key in the pack: digest signatures not checked"]
    try:
        import cryptography  # noqa: F401
    except ImportError:
        return [], ["the 'cryptography' package is not installed: signatures not checked"]
    problems: list[str] = []
    for label, digest in digests:
        signature = digest.get("signature")
        if not signature:
            problems.append(f"the {label} digest is not signed")
            continue
        message = digest_message(int(digest["position"]), str(digest["hash"]), str(digest["time"]))
        if not check_signature(message, str(signature), public_key_pem):
            problems.append(f"the {label} digest's signature is not valid for the pack's key")
    return problems, [] if problems else ["digest signatures are valid"]


def _digest_entry(digests: object, label: str) -> dict[str, Any]:
    """Return one digest from digests.json with its fields checked."""
    entry = digests.get(label) if isinstance(digests, dict) else None
    if not isinstance(entry, dict) or not {"position", "hash", "time"} <= entry.keys():
        raise PackUnreadableError(f"{DIGESTS_FILE} needs a valid '{label}' digest")
    try:
        entry["position"] = int(entry["position"])
        bytes.fromhex(str(entry["hash"]))
    except (TypeError, ValueError, OverflowError) as exc:
        raise PackUnreadableError(f"the {label} digest is malformed: {exc}") from exc
    return entry


def verify_pack(pack: Path) -> tuple[int, list[str]]:
    """Verify a pack and return (exit code, output lines)."""
    try:
        members = _read_members(pack)
        for name in (EVENTS_FILE, DIGESTS_FILE):
            if name not in members:
                raise PackUnreadableError(f"{pack} has no {name}")
        digests = _load_json(members[DIGESTS_FILE], DIGESTS_FILE)
        start, end = (_digest_entry(digests, label) for label in ("start", "end"))
        events = _load_events(members[EVENTS_FILE])
    except PackUnreadableError as exc:
        return EXIT_UNREADABLE, [f"UNREADABLE: {exc}"]
    problems = check_chain(events, start, end)
    signature_problems, notes = check_signatures(
        [("start", start), ("end", end)], members.get(PUBLIC_KEY_FILE)
    )
    problems += signature_problems
    lines = [f"PROBLEM: {p}" for p in problems] + [f"note: {n}" for n in notes]
    if problems:
        lines.append(f"TAMPERED: {len(problems)} problem(s) found in {len(events)} event(s)")
        return EXIT_TAMPERED, lines
    lines.append(
        f"OK: {len(events)} event(s) after position {start['position']} up to "
        f"position {end['position']} match the chain; end hash {end['hash']}"
    )
    return EXIT_OK, lines


def _default_pack() -> Path:
    """Return the directory this script sits in when it holds a pack, else the cwd."""
    here = Path(__file__).resolve().parent
    return here if (here / EVENTS_FILE).is_file() else Path.cwd()


def main(argv: Sequence[str] | None = None) -> int:
    """Verify the pack named on the command line (or the one this file sits in)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) > 1 or (args and args[0] in ("-h", "--help")):
        print("usage: verify.py [PACK.tar.gz | PACK_DIRECTORY]")
        return EXIT_UNREADABLE
    code, lines = verify_pack(Path(args[0]) if args else _default_pack())
    for line in lines:
        print(line)
    return code


if __name__ == "__main__":
    sys.exit(main())
