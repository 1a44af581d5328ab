"""A rebuild's indexes and statistics, made on the filled scratch tables before the swap.

Made in the swap, they held the write lock (every change waits) for as long
as the largest tables took to index, one index after another. On PostgreSQL
they are made beforehand instead, over one connection per core, and the swap
only renames them: the lock is held for the catch-up and a few renames. The
tables are analysed the same way, so the planner knows them from the first
query after the swap, and vacuumed, so index-only scans need no heap page
from the first query either. SQLite cannot rename an index; there the swap still
builds them (``replay._swap``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, Index, Table, func, select

from craton.projections.tables import TOGETHER, Tables, build_tables, statistics_ddl

MAINTENANCE_MEMORY = "256MB"  # per connection building an index (PostgreSQL's default: 64MB)


@dataclass(frozen=True)
class Prepared:
    """The scratch tables a rebuild filled, with every live index made on them."""

    prefix: str

    def index_renames(self, live: Table) -> Iterator[str]:
        """The statements that give a swapped-in table's indexes and statistics their
        live names (run after the live table is dropped)."""
        p = self.prefix
        for index in live.indexes:
            yield f"ALTER INDEX {p}{index.name} RENAME TO {index.name}"
        if live.name in TOGETHER:
            yield (f"ALTER STATISTICS {p}{live.name}_together "
                   f"RENAME TO {live.name}_together")


def prepare(engine: Engine, scratch: Tables, prefix: str, workers: int | None = None
            ) -> Prepared:
    """Make every index the live tables have (under the scratch names) that the scratch
    tables lack, then their statistics; the largest tables first, in parallel."""
    full = build_tables(prefix)
    have = {index.name for table in scratch.rebuildable for index in table.indexes}
    with engine.connect() as conn:
        sizes = {t.name: _bytes(conn, t) for t in full.rebuildable}
        conn.rollback()
    tables = sorted(full.rebuildable, key=lambda t: sizes[t.name], reverse=True)
    work: list[tuple[Table, Index]] = [
        (table, index) for table in tables
        for index in sorted(table.indexes, key=lambda i: i.name or "")
        if index.name not in have]
    parallel = max(1, min(len(work), workers or min(4, os.cpu_count() or 1)))
    # A failed build ends the map, which cancels the builds still queued.
    with ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="rebuild-index") as pool:
        for done in pool.map(lambda item: _make_index(engine, *item), work):
            del done
        # Statistics once the indexes are in (ANALYZE samples the indexed expressions too).
        for done in pool.map(lambda table: _analyse(engine, table, prefix), tables):
            del done
    return Prepared(prefix)


def _bytes(conn: Connection, table: Table) -> int:
    return int(conn.execute(select(func.pg_relation_size(table.name))).scalar() or 0)


def _make_index(engine: Engine, table: Table, index: Index) -> None:
    with engine.begin() as conn:
        conn.exec_driver_sql(f"SET LOCAL maintenance_work_mem = '{MAINTENANCE_MEMORY}'")
        index.create(conn)


def _analyse(engine: Engine, table: Table, prefix: str) -> None:
    """Statistics, and the visibility map: a filled table is vacuumed (outside any
    transaction) so every page is marked all-visible, and index-only scans skip the
    heap from the first query. A table only ever appended to otherwise waits for
    autovacuum, or for ever where it is off: an as-of listing then read a heap
    page for each row its index had already answered."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        ddl = statistics_ddl(table.name.removeprefix(prefix), prefix)
        if ddl is not None:
            conn.exec_driver_sql(ddl)
        conn.exec_driver_sql(f"VACUUM (ANALYZE) {table.name}")
