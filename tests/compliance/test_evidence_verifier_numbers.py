"""The pack's offline verifier reads numbers JSON cannot hold as whole numbers (Infinity,
1e999) as a problem or an unreadable pack, in one line, never a traceback."""

from __future__ import annotations

import json

from .test_evidence_pack import extract, run_verifier


def pack_of(memory_history, tmp_path):
    svc, _ = memory_history
    from craton.compliance.evidence import build_evidence

    build_evidence(svc, tmp_path / "p.tar.gz", "@10", "@20")
    return extract(tmp_path / "p.tar.gz", tmp_path / "pack")


def test_an_event_at_an_infinite_position_is_a_problem_not_a_crash(
        memory_history, tmp_path) -> None:
    where = pack_of(memory_history, tmp_path)
    lines = (where / "events.jsonl").read_text().splitlines()
    lines[3] = lines[3].replace('"position": 14', '"position": Infinity')
    lines[5] = lines[5].replace('"version": ', '"version": 1e999, "was": ')
    (where / "events.jsonl").write_text("\n".join(lines) + "\n")
    done = run_verifier(where)
    assert done.returncode == 1 and "Traceback" not in done.stdout + done.stderr
    problems = [x for x in done.stdout.splitlines() if x.startswith("PROBLEM: ")]
    unreadable = "cannot be read: cannot convert float infinity to integer"
    assert problems[0] == f"PROBLEM: event #4 {unreadable}"
    assert f"PROBLEM: event #6 {unreadable}" in problems


def test_a_digest_at_an_infinite_position_makes_the_pack_unreadable(
        memory_history, tmp_path) -> None:
    where = pack_of(memory_history, tmp_path)
    digests = json.loads((where / "digests.json").read_text())
    text = json.dumps(digests).replace(f'"position": {digests["end"]["position"]}',
                                       '"position": 1e999')
    (where / "digests.json").write_text(text)
    done = run_verifier(where)
    assert done.returncode == 2 and done.stderr == ""
    assert done.stdout == ("UNREADABLE: the end digest is malformed: cannot convert float "
                           "infinity to integer\n")
