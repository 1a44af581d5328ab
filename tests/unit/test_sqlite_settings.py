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
