"""What every SQLite connection runs with."""

from __future__ import annotations

from pathlib import Path

from craton.db import Database


def test_a_file_database_connection_is_set_for_ledger_work(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'c.db'}")
    try:
        with db.read_engine.connect() as conn:
            def setting(name: str) -> object:
                return conn.exec_driver_sql(f"PRAGMA {name}").scalar()
            assert setting("journal_mode") == "wal"
            assert setting("foreign_keys") == 1
            # freed pages zeroed only where written anyway (2: FAST), not all rewritten
            assert setting("secure_delete") == 2
            assert setting("threads") == 2  # index builds may sort in helper threads
    finally:
        db.dispose()


def test_a_write_that_waited_out_the_lock_is_a_busy_ledger_not_a_crash(tmp_path) -> None:
    import sqlite3

    import pytest

    from craton.bootstrap import bootstrap
    from craton.domain.errors import LedgerBusy
    from craton.settings import Settings

    path = tmp_path / "busy.db"
    svc = bootstrap(Settings(database_url=f"sqlite:///{path}"))
    with svc.db.engine.connect() as conn:  # (the pooled connection the write takes next)
        conn.exec_driver_sql("PRAGMA busy_timeout=50")
    holder = sqlite3.connect(path, timeout=0)
    holder.execute("BEGIN IMMEDIATE")  # another writer holds the database's write lock
    try:
        with pytest.raises(LedgerBusy) as caught:
            with svc.db.writing() as session:
                session.connection().exec_driver_sql(
                    "INSERT INTO projection_state (name, value) VALUES ('x', 1)")
        assert caught.value.status == 503 and "retry" in caught.value.message
    finally:
        holder.rollback()
        holder.close()
        svc.close()


def test_a_busy_ledger_answers_503_with_when_to_retry() -> None:
    import pytest

    from craton.api.errors import Problem, handle_domain_error
    from craton.domain.errors import LedgerBusy

    with pytest.raises(Problem) as caught:
        handle_domain_error(None, None, LedgerBusy("busy"), {})  # type: ignore[arg-type]
    assert caught.value.status == "503 Service Unavailable"
    assert dict(caught.value.headers or {}) == {"Retry-After": "1"}
