"""The composition root: the one place that wires Craton together."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Recording
from sqlalchemy import Connection

from craton.application import Ledger
from craton.db import Database
from craton.ledger.chain import StoredRecord
from craton.ledger.sql import HEAD_UNREAD, append_links, as_link, chain_head_text
from craton.projections.bulk import Pending
from craton.projections.timeline import log_head_text
from craton.schema import CHAIN, initialise, is_initialised
from craton.settings import Settings


@dataclass
class Services:
    """Everything a process needs, built once."""

    settings: Settings
    db: Database
    ledger: Ledger
    on_close: list[Callable[[], None]] = field(default_factory=list)  # before the database

    def close(self) -> None:
        for finish in self.on_close:
            finish()
        self.db.dispose()


class ChainRecordings:
    """Extend the hash chain over new events, in the transaction that stores them.

    On PostgreSQL ``bootstrap`` has the chain's head read in the round trip
    that takes the write lock (``Database.read_with_lock``); the first save of
    a write uses it, and one that finds it unread reads it itself.
    """

    def __init__(self, db: Database):
        self.db = db

    def __call__(self, conn: Connection, recordings: Sequence[Recording[UUID]],
                 pending: Pending | None = None) -> None:
        taken = self.db.taken_with_lock()
        head = HEAD_UNREAD if taken is None else as_link(taken[0])
        append_links(conn, CHAIN, [
            StoredRecord(r.notification.id, str(r.notification.originator_id),
                         r.notification.originator_version, r.notification.topic,
                         bytes(r.notification.state))
            for r in recordings
        ], pending=pending, head=head)


def check_signing_key(settings: Settings) -> None:
    """SigningKeyError, before anything starts, if the configured key cannot sign: a
    process that would only find out when asked for a digest must not start."""
    if settings.signing_key is not None:
        from craton.ledger.signing import load_private_key

        load_private_key(settings.signing_key)


def bootstrap(settings: Settings | None = None, *, init: bool = True,
              **overrides: Any) -> Services:
    """Build the services for one process; create the schema if asked and absent."""
    settings = settings or Settings.from_env()
    check_signing_key(settings)  # (read once a process: see load_private_key)
    db = Database(overrides.get("database_url") or settings.database_url,
                  settings.read_database_url)
    ledger = Ledger(db)
    ledger.after_save.append(ChainRecordings(db))
    if db.is_postgres:
        db.read_on_begin = log_head_text()
        db.read_with_lock = chain_head_text(CHAIN)
    if init and not is_initialised(db):
        initialise(db, ledger)
    return Services(settings=settings, db=db, ledger=ledger)
