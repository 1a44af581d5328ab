"""The ``craton`` command as an operator meets it: results on stdout, one line on error."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from craton.cli import main

DOC = {"clouds": [{"name": "c"}], "regions": [{"name": "r", "cloud": "c"}],
       "hosts": [{"name": f"h{n}", "region": "r",
                  "facts": {"vcpus": 16, "memory_total_mb": 65536, "disk_gb": 100}}
                 for n in range(3)],
       "instances": [{"name": f"vm{n}", "host": f"h{n}", "vcpus": 1, "memory_mb": 1024}
                     for n in range(3)]}


def project(url: str) -> str:
    from craton.bootstrap import bootstrap
    from craton.domain.meta import system_meta
    from craton.settings import Settings

    svc = bootstrap(Settings(database_url=url))
    row = svc.ledger.register(system_meta(), "project", {"name": "ops"})
    svc.close()
    return str(row["uuid"])


def test_import_plan_and_replay(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    pid = project(url)
    doc = tmp_path / "fleet.json"
    doc.write_text(json.dumps(DOC))
    assert main(["--database-url", url, "import", str(doc), "--project", pid]) == 0
    assert "3 hosts" in capsys.readouterr().out
    assert main(["--database-url", url, "plan", "--project", pid, "--planner", "greedy"]) == 0
    out = capsys.readouterr().out
    assert "hosts freed  2" in out and "moves" in out
    assert main(["--database-url", url, "replay", "--verify"]) == 0
    assert "0 differences" in capsys.readouterr().out
    assert main(["--database-url", url, "replay", "--workers", "2"]) == 0
    said = capsys.readouterr().out
    assert "rebuilt read models from" in said and "(2 processes, peak memory" in said
    assert main(["--database-url", url, "replay", "--workers", "1"]) == 0
    assert "(1 process, peak memory" in capsys.readouterr().out
    assert main(["--database-url", url, "replay"]) == 0  # one per core, at most two
    expected = min(2, os.cpu_count() or 1)
    assert f"({expected} process{'es' if expected > 1 else ''}, peak memory" \
        in capsys.readouterr().out


def test_errors_are_one_readable_line(tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    pid = project(url)
    missing = tmp_path / "nope.json"
    assert main(["--database-url", url, "import", str(missing), "--project", pid]) == 2
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"hosts": [{"name": "x", "region": "nowhere"}]}))
    assert main(["--database-url", url, "import", str(bad), "--project", pid]) == 2
    assert main(["--database-url", url, "plan", "--project", pid]) == 2
    errors = capsys.readouterr().err.strip().splitlines()
    assert len(errors) == 3 and all(e.startswith("craton: ") for e in errors)
    assert "no region named 'nowhere'" in errors[1]
    assert "Traceback" not in "".join(errors)


@pytest.mark.parametrize(("text", "said"), [
    ('{"hosts": [{"name": "a\\u0000", "region": "r"}]}', "NUL character"),
    ('{"clouds": [{"name": "\\ud800"}]}', "lone surrogate"),
    ('{"clouds": ' + "[" * 100 + "]" * 100 + "}", "nested deeper"),
    ("{", "not a JSON document"),
])
def test_an_unstorable_import_document_is_one_line_and_imports_nothing(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, said: str) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    pid = project(url)
    doc = tmp_path / "fleet.json"
    doc.write_text(text)
    assert main(["--database-url", url, "import", str(doc), "--project", pid]) == 2
    errors = capsys.readouterr().err.strip().splitlines()
    assert len(errors) == 1 and errors[0].startswith("craton: ") and said in errors[0]


def test_a_malformed_setting_is_one_readable_line(monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("CRATON_AUTH_CACHE_SECONDS", "inf")
    assert main(["verify"]) == 2
    monkeypatch.setenv("CRATON_AUTH_CACHE_SECONDS", "5")
    monkeypatch.setenv("CRATON_WORKERS", "two")
    assert main(["verify"]) == 2
    errors = capsys.readouterr().err.strip().splitlines()
    assert errors == [
        "craton: CRATON_AUTH_CACHE_SECONDS must be between 0 and 300 seconds, not 'inf'",
        "craton: CRATON_WORKERS must be a whole number, not 'two'"]


def test_a_replay_batch_or_worker_count_below_one_is_refused(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    project(url)
    for args in (["--batch-size", "0"], ["--workers", "-1"], ["--batch-size", "many"]):
        with pytest.raises(SystemExit) as exit_:
            main(["--database-url", url, "replay", *args])
        assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "must be at least 1, not 0" in err and "must be at least 1, not -1" in err
    assert "not a whole number: 'many'" in err and "Traceback" not in err


def test_a_plan_scope_of_id_zero_is_a_scope_not_the_whole_project(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    pid = project(url)
    doc = tmp_path / "fleet.json"
    doc.write_text(json.dumps(DOC))
    assert main(["--database-url", url, "import", str(doc), "--project", pid]) == 0
    capsys.readouterr()
    for scope in ("--cloud-id", "--region-id", "--cell-id"):
        assert main(["--database-url", url, "plan", "--project", pid, scope, "0"]) == 2
    assert capsys.readouterr().err.splitlines() == ["craton: the scope holds no hosts"] * 3


def test_commands_that_read_refuse_a_database_file_that_is_not_there(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'typo.db'}"
    for command in (["verify"], ["digest"], ["report", "change-activity"], ["replay"],
                    ["runs", "show", "1"], ["plan", "--project", "p"]):
        assert main(["--database-url", url, *command]) == 2
    assert not (tmp_path / "typo.db").exists()
    errors = capsys.readouterr().err.splitlines()
    assert errors == [f"craton: no database at {tmp_path / 'typo.db'}: "
                      "craton init or craton serve creates one"] * 6


def test_serve_refuses_a_bind_address_or_worker_count_it_cannot_use(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import socket

    url = f"sqlite:///{tmp_path / 'c.db'}"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        for bind in ("127.0.0.1:99999", "nohost", f"127.0.0.1:{port}"):
            assert main(["--database-url", url, "serve", "--bind", bind]) == 2
    with pytest.raises(SystemExit):
        main(["--database-url", url, "serve", "--workers", "0"])
    err = capsys.readouterr().err
    assert "a port from 1 to 65535, not '127.0.0.1:99999'" in err
    assert "not 'nohost'" in err and f"cannot listen on 127.0.0.1:{port}" in err
    assert "must be at least 1, not 0" in err and "Traceback" not in err
    assert not (tmp_path / "c.db").exists()  # refused before the database is touched


def test_a_plan_summary_keeps_the_objective_and_the_hosts_bound_apart() -> None:
    from craton.planning.cli import summary

    plan = {"id": 7, "fields": {
        "planner": "milp", "position": 42, "status": "time_limit", "moves": [],
        "hosts_freed": [], "freed_asset_cost": 0.0, "objective_value": 612.02,
        "bound": 598.0, "gap": 0.0, "solve_time_s": 30.1,
        "summary": {"hosts": 2000, "hosts_used": 1800, "instances": 20000, "moves": 0,
                    "notes": [f"cell {n}: solver did not return in time; greedy layout used"
                              for n in range(7)]}}}
    said = summary(plan)
    assert "objective    612, moves included" in said
    assert "hosts' cost  within 0.00% of its lower bound 598" in said
    assert "cell 0: solver did not return in time; greedy layout used" in said
    assert "... and 2 more" in said and "cell 5:" not in said
