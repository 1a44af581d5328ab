"""Tests of evidence packs, their standalone verifier and digest signatures."""

from __future__ import annotations

import ast
import base64
import io
import json
import stat
import subprocess
import sys
import tarfile
import uuid
from pathlib import Path

import pytest

from craton.ledger.chain import GENESIS, Digest, StoredRecord, extend
from craton.ledger.evidence import event_entry, write_pack
from craton.ledger.signing import (
    generate_key,
    load_private_key,
    public_key_path,
    public_key_pem,
    sign_digest,
    verify_digest_signature,
)

TIME = "2025-03-01T12:00:00.000000Z"
ROOT = Path(__file__).resolve().parents[2]


def make_records(positions: list[int]) -> list[StoredRecord]:
    """Build records with distinct states."""
    oid = str(uuid.UUID(int=7))
    return [
        StoredRecord(p, oid, n + 1, "fleet:Drained", json.dumps({"p": p}).encode())
        for n, p in enumerate(positions)
    ]


def build_pack(
    tmp_path: Path, *, key_file: Path | None = None, sign: bool = True
) -> tuple[Path, Digest, Digest]:
    """Write a pack for positions 4..9 of a log with a gap, chained from position 3."""
    records = make_records([1, 2, 3, 4, 5, 7, 8, 9])
    links = extend(GENESIS, records)
    start = Digest(3, links[2].hash, TIME)
    end = Digest(9, links[-1].hash, TIME)
    pem = None
    if key_file is not None:
        key = load_private_key(key_file)
        pem = public_key_pem(key)
        if sign:
            start, end = sign_digest(start, key), sign_digest(end, key)
    events = [event_entry(r, link.hash) for r, link in zip(records, links, strict=True)][3:]
    pack = write_pack(
        tmp_path / "pack.tar.gz", events, start, end, pem, {"report.txt": b"quarterly\n"}
    )
    return pack, start, end


def read_members(pack: Path) -> dict[str, bytes]:
    """Return the pack's files by name."""
    with tarfile.open(pack) as archive:
        found = {}
        for member in archive.getmembers():
            handle = archive.extractfile(member)
            assert handle is not None
            found[member.name] = handle.read()
        return found


def rewrite_member(pack: Path, name: str, data: bytes) -> None:
    """Replace one file inside the archive."""
    members = read_members(pack)
    members[name] = data
    with tarfile.open(pack, "w:gz") as archive:
        for member_name, content in members.items():
            info = tarfile.TarInfo(member_name)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))


def run_extracted(pack: Path, where: Path) -> subprocess.CompletedProcess[str]:
    """Extract the pack and run its verify.py in isolation from the package."""
    where.mkdir()
    with tarfile.open(pack) as archive:
        archive.extractall(where, filter="data")
    return subprocess.run(
        [sys.executable, "-I", "verify.py"],
        cwd=where,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def run_module(pack: Path) -> subprocess.CompletedProcess[str]:
    """Run the verifier as a module of the installed package."""
    return subprocess.run(
        [sys.executable, "-m", "craton.ledger.evidence_verify", str(pack)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_pack_contents(tmp_path: Path) -> None:
    pack, start, end = build_pack(tmp_path)
    members = read_members(pack)
    expected = {"README.txt", "verify.py", "events.jsonl", "digests.json", "report.txt"}
    assert set(members) == expected
    digests = json.loads(members["digests.json"])
    assert Digest.from_dict(digests["start"]) == start
    assert Digest.from_dict(digests["end"]) == end
    lines = members["events.jsonl"].decode().splitlines()
    assert [json.loads(line)["position"] for line in lines] == [4, 5, 7, 8, 9]
    imported = set()
    for node in ast.walk(ast.parse(members["verify.py"])):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert imported <= set(sys.stdlib_module_names) | {"__future__", "cryptography"}


def test_intact_pack_verifies_from_the_extracted_script(tmp_path: Path) -> None:
    pack, _, end = build_pack(tmp_path)
    result = run_extracted(pack, tmp_path / "out")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().splitlines()[-1].startswith("OK: 5 event(s) after position 3")
    assert end.hash in result.stdout


def test_module_entry_point_reads_the_archive(tmp_path: Path) -> None:
    pack, _, _ = build_pack(tmp_path)
    result = run_module(pack)
    assert result.returncode == 0, result.stdout + result.stderr


def test_edited_event_line_is_detected(tmp_path: Path) -> None:
    pack, _, _ = build_pack(tmp_path)
    lines = read_members(pack)["events.jsonl"].decode().splitlines()
    event = json.loads(lines[2])
    event["state_b64"] = base64.b64encode(b'{"p": 700}').decode()
    lines[2] = json.dumps(event, sort_keys=True)
    rewrite_member(pack, "events.jsonl", ("\n".join(lines) + "\n").encode())
    result = run_extracted(pack, tmp_path / "out")
    assert result.returncode == 1, result.stdout + result.stderr
    problems = [line for line in result.stdout.splitlines() if line.startswith("PROBLEM")]
    assert problems == [
        "PROBLEM: event at position 7 was altered, inserted or moved: "
        "its hash no longer matches the chain"
    ]
    assert result.stdout.strip().splitlines()[-1].startswith("TAMPERED")


def test_rewritten_chain_hashes_fail_the_end_digest(tmp_path: Path) -> None:
    pack, start, _ = build_pack(tmp_path)
    lines = read_members(pack)["events.jsonl"].decode().splitlines()
    events = [json.loads(line) for line in lines]
    del events[1]
    forged = extend(start.hash, [_record(e) for e in events])
    for event, link in zip(events, forged, strict=True):
        event["chain_hash"] = link.hash
    body = "".join(json.dumps(e) + "\n" for e in events).encode()
    rewrite_member(pack, "events.jsonl", body)
    result = run_extracted(pack, tmp_path / "out")
    assert result.returncode == 1
    assert "do not reproduce the end digest" in result.stdout


def _record(event: dict[str, object]) -> StoredRecord:
    """Turn an events.jsonl object back into a record."""
    return StoredRecord(
        int(str(event["position"])),
        str(event["originator_id"]),
        int(str(event["version"])),
        str(event["topic"]),
        base64.b64decode(str(event["state_b64"])),
    )


def test_truncated_pack_is_detected(tmp_path: Path) -> None:
    pack, _, _ = build_pack(tmp_path)
    lines = read_members(pack)["events.jsonl"].decode().splitlines(keepends=True)
    rewrite_member(pack, "events.jsonl", "".join(lines[:-1]).encode())
    result = run_extracted(pack, tmp_path / "out")
    assert result.returncode == 1
    assert "position 9 named by the end digest is missing" in result.stdout


def test_unreadable_pack(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.tar.gz"
    bogus.write_bytes(b"not an archive")
    result = run_module(bogus)
    assert result.returncode == 2
    assert result.stdout.startswith("UNREADABLE")


def test_pack_without_a_valid_end_digest_is_unreadable(tmp_path: Path) -> None:
    pack, _, _ = build_pack(tmp_path)
    digests = json.loads(read_members(pack)["digests.json"])
    del digests["end"]["time"]
    rewrite_member(pack, "digests.json", json.dumps(digests).encode())
    result = run_extracted(pack, tmp_path / "out")
    assert result.returncode == 2
    assert "needs a valid 'end' digest" in result.stdout


def test_signed_pack_verifies_and_forged_digest_fails(tmp_path: Path) -> None:
    key_file = tmp_path / "ledger.pem"
    generate_key(key_file)
    pack, _, _ = build_pack(tmp_path, key_file=key_file)
    good = run_extracted(pack, tmp_path / "good")
    assert good.returncode == 0, good.stdout + good.stderr
    assert "digest signatures are valid" in good.stdout
    digests = json.loads(read_members(pack)["digests.json"])
    digests["end"]["time"] = "2025-04-01T00:00:00.000000Z"
    rewrite_member(pack, "digests.json", json.dumps(digests).encode())
    bad = run_extracted(pack, tmp_path / "bad")
    assert bad.returncode == 1
    assert "the end digest's signature is not valid" in bad.stdout
    assert "start digest" not in bad.stdout


def test_unsigned_digest_with_a_key_is_a_problem(tmp_path: Path) -> None:
    key_file = tmp_path / "ledger.pem"
    generate_key(key_file)
    pack, _, _ = build_pack(tmp_path, key_file=key_file, sign=False)
    result = run_extracted(pack, tmp_path / "out")
    assert result.returncode == 1
    assert "the start digest is not signed" in result.stdout


def test_key_files_and_signatures(tmp_path: Path) -> None:
    key_file = tmp_path / "ledger.pem"
    key = generate_key(key_file)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert public_key_path(key_file) == tmp_path / "ledger.pub.pem"
    pem = public_key_path(key_file).read_bytes()
    assert pem == public_key_pem(load_private_key(key_file))
    digest = sign_digest(Digest(9, "ab" * 32, TIME), key)
    assert digest.signature and digest.key_id and digest.key_id.startswith("ed25519:")
    assert verify_digest_signature(digest, pem)
    assert not verify_digest_signature(digest.unsigned(), pem)
    assert not verify_digest_signature(Digest(10, digest.hash, TIME, digest.signature), pem)
    other = tmp_path / "other.pem"
    generate_key(other)
    assert not verify_digest_signature(digest, public_key_path(other).read_bytes())
    with pytest.raises(FileExistsError):
        generate_key(key_file)


def test_extra_files_may_not_replace_pack_files(tmp_path: Path) -> None:
    start = Digest(0, GENESIS, TIME)
    with pytest.raises(ValueError):
        write_pack(tmp_path / "p.tar.gz", [], start, start, None, {"verify.py": b""})
    with pytest.raises(ValueError):
        write_pack(tmp_path / "p.tar.gz", [], start, start, None, {"../x": b""})
