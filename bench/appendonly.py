"""The event store's own append: the ledger's save without any read model."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import Recording

from craton.application import Ledger
from craton.bootstrap import ChainRecordings
from craton.db import Database


class AppendOnly(Ledger):
    """Stores events (and, if asked, their hash chain) and projects nothing."""

    name = "Craton"  # the same event table as the ledger

    def __init__(self, db: Database, *, chain: bool = True):
        super().__init__(db)
        self.chain = ChainRecordings(db) if chain else None
        if not chain:
            db.read_with_lock = None  # nor the chain's head with the lock

    def save(self, *objs: Any, **kwargs: Any) -> list[Recording[UUID]]:
        with self.db.writing() as session:
            recordings: Sequence[Recording[UUID]] = Application.save(self, *objs, **kwargs)
            if recordings and self.chain is not None:
                self.chain(session.connection(), recordings)
            session.expunge_all()
        return list(recordings)
