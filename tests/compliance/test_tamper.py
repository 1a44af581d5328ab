"""Tampering with the stored log is found at the right position: by ``craton verify``
and by the verifier shipped in an evidence pack."""

from __future__ import annotations

import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

import pytest

from craton.cli import main
from craton.domain.meta import Meta
from craton.proofs import current_digest
from tests.conftest import make_fleet

from . import tamper

HEAD = 12  # make_fleet writes 5 events, then seven variable changes follow


def fleet(svc: Any) -> None:
    f = make_fleet(svc)
    meta: Meta = f["meta"]  # type: ignore[assignment]
    for n in range(7):
        svc.ledger.set_variables(meta, "host", f["host"]["id"], {"n": n})


def verify_cli(url: str, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str]:
    code = main(["--database-url", url, "verify", *extra])
    return code, capsys.readouterr().out


def pack_verdict(url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
                 ) -> tuple[int, str]:
    pack = tmp_path / "evidence.tar.gz"
    main(["--database-url", url, "evidence", "-o", str(pack),
          "--allow-tampered"])
    capsys.readouterr()
    where = tmp_path / "pack"
    with tarfile.open(pack) as archive:
        archive.extractall(where, filter="data")
    done = subprocess.run([sys.executable, "verify.py"], cwd=where, capture_output=True,
                          text=True, timeout=60)
    return done.returncode, done.stdout


CASES = {
    "altered": (lambda svc: tamper.alter_byte(svc, 7), 7, "altered", "position 7 was altered"),
    "removed": (lambda svc: tamper.delete_event(svc, 7), 7, "removed", "position 8 was altered"),
    "inserted": (lambda svc: tamper.insert_forged(svc, 3, HEAD + 1), HEAD + 1, "inserted",
                 f"position {HEAD + 1} was altered"),
    "reordered": (lambda svc: tamper.swap(svc, 7, 8), 7, "reordered",
                  "position 7 was altered"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_tampering_is_found_at_its_position(services, case, tmp_path, capsys) -> None:
    fleet(services)
    url = services.db.url
    assert verify_cli(url, capsys) == (0, f"{HEAD} event(s) verified up to position {HEAD}\n")
    act, position, problem, in_pack = CASES[case]
    act(services)
    code, out = verify_cli(url, capsys)
    assert code == 1
    assert f"position {position}" in out.splitlines()[0] and problem in out
    code, out = pack_verdict(url, tmp_path, capsys)
    assert code == 1 and "TAMPERED" in out
    first = next(line for line in out.splitlines() if line.startswith("PROBLEM"))
    assert in_pack in first


def test_a_truncated_tail_is_found_against_a_saved_digest(services, tmp_path, capsys) -> None:
    fleet(services)
    saved = tmp_path / "digest.json"
    saved.write_text(current_digest(services).to_json())
    tamper.truncate_tail(services, HEAD - 3)
    url = services.db.url
    code, out = verify_cli(url, capsys)
    assert code == 0  # the chain alone was cut consistently: only a saved digest tells
    code, out = verify_cli(url, capsys, "--digest", str(saved))
    assert code == 1 and "cut short" in out and f"position {HEAD}" in out


def test_evidence_is_refused_from_a_tampered_log(services, tmp_path, capsys) -> None:
    fleet(services)
    tamper.alter_byte(services, 4)
    code = main(["--database-url", services.db.url, "evidence", "-o",
                 str(tmp_path / "e.tar.gz")])
    assert code == 2 and "position 4 was altered" in capsys.readouterr().err
    assert not (tmp_path / "e.tar.gz").exists()


def test_verify_runs_as_a_command(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'craton.db'}"
    from craton.bootstrap import bootstrap
    from craton.settings import Settings

    svc = bootstrap(Settings(database_url=url))
    fleet(svc)
    tamper.alter_byte(svc, 5)
    svc.close()
    craton = Path(sys.executable).with_name("craton")  # the installed console script
    done = subprocess.run([str(craton), "--database-url", url, "verify"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert "event at position 5 was altered" in done.stdout
