"""Where an SQLite database's replay lock lives, and that it is one holder at a time."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from craton import replay
from craton.bootstrap import Services
from craton.db import Database


def test_the_lock_file_sits_beside_the_database_file(tmp_path: Path) -> None:
    db = tmp_path / "craton.db"
    assert replay.lock_file(f"sqlite:///{db}") == f"{db}.replay-lock"
    assert replay.lock_file(f"sqlite+pysqlite:///{db}") == f"{db}.replay-lock"
    assert replay.lock_file(f"sqlite:///file:{db}?uri=true") == f"{db}.replay-lock"


def test_a_relative_path_and_a_link_name_the_same_lock_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "craton.db"
    db.touch()
    os.symlink(db, tmp_path / "link.db")
    monkeypatch.chdir(tmp_path)
    expected = f"{os.path.realpath(db)}.replay-lock"
    assert replay.lock_file("sqlite:///craton.db") == expected
    assert replay.lock_file("sqlite:///link.db") == expected


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:",
                                 "sqlite:///file:x?mode=memory&uri=true"])
def test_a_database_in_memory_has_no_lock_file(url: str) -> None:
    assert replay.lock_file(url) is None


def test_one_holder_at_a_time_then_the_next(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'craton.db'}"
    first, second = Database(url), Database(url)
    with replay.replay_lock(first):
        with pytest.raises(replay.ReplayRunning, match="already running"):
            with replay.replay_lock(second):
                pass
    with replay.replay_lock(second):
        pass
    assert (tmp_path / "craton.db.replay-lock").exists()


def test_a_database_in_memory_replays_without_a_lock(memory_services: Services) -> None:
    with replay.replay_lock(memory_services.db):
        assert replay.verify(memory_services).differences == []
