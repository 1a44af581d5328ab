"""The evidence pack of a period: events, signed digests at both ends, every report."""

from __future__ import annotations

import json
import subprocess
import sys
import tarfile
from pathlib import Path

from craton.cli import main
from craton.ledger.signing import generate_key

REPORTS = {"change-activity", "unreasoned-changes", "unused-capacity", "drift",
           "workflow-outcomes", "access"}


def extract(pack: Path, where: Path) -> Path:
    with tarfile.open(pack) as archive:
        archive.extractall(where, filter="data")
    return where


def run_verifier(where: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "verify.py"], cwd=where, capture_output=True,
                          text=True, timeout=60)


def test_a_period_pack_holds_signed_digests_events_and_every_report(
        memory_history, tmp_path) -> None:
    svc, _ = memory_history
    key = tmp_path / "signing.pem"
    generate_key(key)
    from dataclasses import replace

    svc.settings = replace(svc.settings, signing_key=key)
    from craton.compliance.evidence import build_evidence

    result = build_evidence(svc, tmp_path / "march.tar.gz", "2026-03-03T00:00:00Z",
                            "2026-03-06T00:00:00Z")
    assert (result.start.position, result.end.position, result.events) == (8, 30, 22)
    where = extract(tmp_path / "march.tar.gz", tmp_path / "pack")
    digests = json.loads((where / "digests.json").read_text())
    assert digests["start"]["signature"] and digests["end"]["signature"]
    names = {p.relative_to(where).as_posix() for p in where.rglob("*") if p.is_file()}
    assert {f"reports/{r}.{fmt}" for r in REPORTS for fmt in ("json", "csv", "html")} <= names
    activity = json.loads((where / "reports/change-activity.json").read_text())
    assert activity["summary"]["changes"] == 22
    lines = (where / "events.jsonl").read_text().splitlines()
    assert [json.loads(x)["position"] for x in (lines[0], lines[-1])] == [9, 30]
    done = run_verifier(where)
    assert done.returncode == 0, done.stdout
    assert "digest signatures are valid" in done.stdout


def test_a_pack_cut_short_after_export_fails_its_verifier(memory_history, tmp_path) -> None:
    svc, _ = memory_history
    pack = tmp_path / "all.tar.gz"
    from craton.compliance.evidence import build_evidence

    build_evidence(svc, pack, None, None)
    where = extract(pack, tmp_path / "pack")
    events = (where / "events.jsonl").read_text().splitlines()
    (where / "events.jsonl").write_text("\n".join(events[:-3]) + "\n")
    done = run_verifier(where)
    assert done.returncode == 1
    assert "position 38 named by the end digest is missing" in done.stdout


def test_the_evidence_command_writes_a_pack(history, tmp_path, capsys) -> None:
    svc, _ = history
    pack = tmp_path / "p.tar.gz"
    code = main(["--database-url", svc.db.url, "evidence", "--from", "@10", "--to", "@20",
                 "-o", str(pack)])
    assert code == 0, capsys.readouterr().err
    assert "10 event(s) after position 10 up to 20" in capsys.readouterr().out
    assert run_verifier(extract(pack, tmp_path / "x")).returncode == 0


def test_a_digest_saved_after_the_period_vouches_for_it(history, tmp_path, capsys) -> None:
    svc, _ = history
    url = svc.db.url
    saved = tmp_path / "head.json"
    assert main(["--database-url", url, "digest", "-o", str(saved)]) == 0
    capsys.readouterr()
    pack = tmp_path / "p.tar.gz"
    assert main(["--database-url", url, "evidence", "--from", "@10", "--to", "@20",
                 "-o", str(pack), "--digest", str(saved)]) == 0, capsys.readouterr().err
    assert "up to 20" in capsys.readouterr().out
    forged = json.loads(saved.read_text())
    forged["hash"] = "0" * len(forged["hash"])
    saved.write_text(json.dumps(forged))
    assert main(["--database-url", url, "evidence", "--from", "@10", "--to", "@20",
                 "-o", str(tmp_path / "q.tar.gz"), "--digest", str(saved)]) == 2
    assert "no evidence written: the log does not match the digest saved at" \
        in capsys.readouterr().err
    assert not (tmp_path / "q.tar.gz").exists()
    saved.write_text("{}")
    assert main(["--database-url", url, "evidence", "--from", "@10", "--to", "@20",
                 "-o", str(tmp_path / "r.tar.gz"), "--digest", str(saved)]) == 2
    assert capsys.readouterr().err.startswith(f"craton: digest {saved}: missing")


def test_writing_a_pack_shows_its_progress(memory_history, tmp_path, capsys) -> None:
    svc, _ = memory_history
    from craton.compliance.evidence import build_evidence

    result = build_evidence(svc, tmp_path / "p.tar.gz", "2026-03-03T00:00:00Z",
                            "2026-03-06T00:00:00Z", show_progress=True)
    said = capsys.readouterr().err
    assert f"evidence: reading events: {result.events:,}" in said
    assert f"evidence: writing events: {result.events:,}/{result.events:,} 100.0%" in said
