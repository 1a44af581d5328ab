"""The signing key is read once per command, and a bad one still stops it in one line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from craton.cli import main
from craton.ledger import signing


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The key files loaded, in order, while the test runs."""
    loaded: list[Path] = []
    read = signing._pem

    def counted(path: Any, *args: Any, **kwargs: Any) -> Any:
        loaded.append(Path(path))
        return read(path, *args, **kwargs)

    monkeypatch.setattr(signing, "_pem", counted)
    signing._private_key.cache_clear()  # (as in a new process)
    return loaded


@pytest.mark.parametrize("command", [["init"], ["verify"], ["report", "change-activity"],
                                     ["digest"]])
def test_a_command_reads_the_signing_key_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        reads: list[Path], command: list[str]) -> None:
    key = tmp_path / "signing.pem"
    signing.generate_key(key)
    url = f"sqlite:///{tmp_path / 'c.db'}"
    assert main(["--database-url", url, "init"]) == 0
    monkeypatch.setenv("CRATON_SIGNING_KEY", str(key))
    assert main(["--database-url", url, *command]) == 0
    assert reads == [key]


def test_a_bad_key_is_reported_before_a_missing_database(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        reads: list[Path]) -> None:
    key = tmp_path / "bad.pem"
    key.write_text("garbage\n")
    monkeypatch.setenv("CRATON_SIGNING_KEY", str(key))
    assert main(["--database-url", f"sqlite:///{tmp_path / 'none.db'}", "verify"]) == 2
    assert capsys.readouterr().err == (f"craton: CRATON_SIGNING_KEY {key} is not an "
                                       "unencrypted Ed25519 private key in PEM\n")
    assert reads == [key] and not (tmp_path / "none.db").exists()
