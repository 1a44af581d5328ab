"""Commands that read leave a database that holds no ledger as it was, and refuse in one line;
settings and arguments a command cannot work with are refused the same way."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect

from craton.cli import main
from tests.conftest import postgres_schema_url

from .test_cli import project

READERS = (["verify"], ["digest"], ["report", "change-activity"], ["replay", "--verify"],
           ["replay"], ["runs", "show", "1"], ["evidence", "-o", "pack.tar.gz"],
           ["run", "audit", "--no-wait"], ["worker", "--once"])


def other_application(path: Path) -> Path:
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY)")
    return path


def empty_file(path: Path) -> Path:
    path.touch()
    return path


@pytest.mark.parametrize("make", [other_application, empty_file])
def test_commands_that_read_refuse_an_sqlite_file_without_a_ledger_and_leave_it_as_it_was(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        make) -> None:
    monkeypatch.chdir(tmp_path)
    path = make(tmp_path / "other.db")
    before = path.read_bytes()
    url = f"sqlite:///{path}"
    for command in READERS:
        assert main(["--database-url", url, *command]) == 2
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.db"]
    errors = capsys.readouterr().err.splitlines()
    assert errors == [f"craton: no Craton ledger at {url} (craton init creates one)"] \
        * len(READERS)


@pytest.fixture
def empty_postgres() -> Iterator[str]:
    yield from postgres_schema_url()


@pytest.mark.postgres
def test_commands_that_read_refuse_a_postgres_database_without_a_ledger(
        empty_postgres: str, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    for command in READERS:
        assert main(["--database-url", empty_postgres, *command]) == 2
    errors = capsys.readouterr().err.splitlines()
    assert len(errors) == len(READERS)
    assert all(e.startswith("craton: no Craton ledger at postgresql") and
               e.endswith("(craton init creates one)") for e in errors)
    engine = create_engine(empty_postgres)
    try:
        assert inspect(engine).get_table_names() == []
    finally:
        engine.dispose()


def test_a_read_database_url_that_cannot_be_a_replica_is_refused_in_one_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    project(url)
    monkeypatch.setenv("CRATON_READ_DATABASE_URL", "postgresql://postgres@127.0.0.1:5499/x")
    assert main(["--database-url", url, "verify"]) == 2
    missing = tmp_path / "replica.db"
    monkeypatch.setenv("CRATON_READ_DATABASE_URL", f"sqlite:///{missing}")
    assert main(["--database-url", url, "verify"]) == 2
    assert not missing.exists()
    monkeypatch.setenv("CRATON_READ_DATABASE_URL", url)
    assert main(["--database-url", "postgresql://postgres@127.0.0.1:5499/x", "verify"]) == 2
    errors = capsys.readouterr().err.splitlines()
    assert errors == [
        "craton: CRATON_READ_DATABASE_URL must name the same kind of database as "
        "CRATON_DATABASE_URL (sqlite), not postgresql",
        f"craton: no database at {missing} (CRATON_READ_DATABASE_URL): it names a replica "
        "of CRATON_DATABASE_URL, which nothing creates",
        "craton: CRATON_READ_DATABASE_URL must name the same kind of database as "
        "CRATON_DATABASE_URL (postgresql), not sqlite"]


@pytest.mark.parametrize("command", [
    ["run", "audit", "--no-wait"], ["run", "evacuate", "--param", "hosts=[3]", "--no-wait"],
    ["plan", "--planner", "greedy"], ["report", "change-activity"]])
def test_a_project_that_is_not_one_is_refused_by_run_plan_and_report(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], command: list[str]) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    project(url)
    unknown = str(uuid.uuid4())
    assert main(["--database-url", url, *command, "--project", "nope"]) == 2
    assert main(["--database-url", url, *command, "--project", unknown]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "craton: 'nope' is not a project id (a UUID)", f"craton: no project {unknown}"]


def test_a_report_names_its_project_however_it_was_spelt(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    pid = project(url)
    assert main(["--database-url", url, "report", "change-activity",
                 "--project", pid.upper()]) == 0
    assert f'"project_id":"{pid}"' in capsys.readouterr().out.replace(" ", "")


@pytest.mark.parametrize("option", [["--poll", "0"], ["--poll", "-1"], ["--poll", "nan"],
                                    ["--lease", "-5"], ["--lease", "inf"]])
def test_the_worker_refuses_a_poll_or_lease_that_is_not_a_duration(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], option: list[str]) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    with pytest.raises(SystemExit) as exit_:
        main(["--database-url", url, "worker", "--once", *option])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "must be more than 0 and at most 86,400 seconds" in err and "Traceback" not in err
    assert not (tmp_path / "c.db").exists()


def test_output_into_a_pipe_nobody_reads_ends_quietly(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    project(url)
    read_end, write_end = os.pipe()
    os.close(read_end)  # like `| head` after it has what it wants
    try:
        done = subprocess.run([sys.executable, "-m", "craton.cli", "--database-url", url,
                               "report", "change-activity"], stdout=write_end,
                              stderr=subprocess.PIPE, text=True, timeout=120)
    finally:
        os.close(write_end)
    assert done.stderr == ""
    assert done.returncode == 128 + 13  # as cat or ls, ended by SIGPIPE
