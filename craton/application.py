"""The ledger application: commands on the inventory, saved with their read models.

Each command loads, decides, saves and returns plain values. ``save`` stores
the events and projects them in one database transaction, so the read models
are never behind the log and a failed command leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Sequence
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import Recording
from eventsourcing.utils import Environment
from eventsourcing_sqlalchemy.factory import SQLAlchemyFactory
from sqlalchemy import func, select

from craton.db import Database
from craton.domain import rules
from craton.domain.errors import InvalidInput, NotFound, VersionMismatch
from craton.domain.inventory import AGGREGATES, Instance, User
from craton.domain.kinds import KINDS, Kind, field_defaults
from craton.domain.meta import Meta
from craton.domain.resource import Resource
from craton.domain.validation import check_fields
from craton.projections.bulk import Pending
from craton.projections.listing import dependents_by_kind
from craton.projections.lookup import CurrentLookup, as_resource, as_resource_row
from craton.projections.projector import Projector
from craton.projections.tables import LIVE, Tables
from craton.store import (
    AGGREGATE_CACHE_SIZE,
    Collected,
    EveryResource,
    LockHeldRecorder,
    SnapshotRecorder,
    mutate,
)

T = TypeVar("T")

# The version a write expects: one, or any of a set (a list in If-Match); None: any.
ExpectedVersion = int | frozenset[int] | None


def _originator(obj: Any) -> Any:
    """The aggregate a saved object belongs to (an aggregate, or one of its events)."""
    return getattr(obj, "originator_id", None) or getattr(obj, "id", None)


class Ledger(Application[UUID]):
    """Every inventory change goes through here."""

    name = "Craton"
    is_snapshotting_enabled = True
    snapshotting_intervals = EveryResource()

    def __init__(self, db: Database, tables: Tables = LIVE):
        self.db = db
        self.tables = tables
        self.projector = Projector(tables)
        # Run after the events are stored, before they are projected; ``Pending`` holds
        # their small writes for the projection's round trip (PostgreSQL).
        self.after_save: list[Callable[[Any, Sequence[Recording[UUID]], Pending | None],
                                       None]] = []
        self._local = threading.local()  # rows a command read or projected, per thread
        db.on_rollback.append(self._forget_cached)
        db.on_commit.append(self._settle_cached)
        super().__init__(env={
            "PERSISTENCE_MODULE": "eventsourcing_sqlalchemy",
            "CREATE_TABLE": "n",
            "IS_SNAPSHOTTING_ENABLED": "y",
            # Recently used aggregates stay in memory; a load reads only newer events.
            "AGGREGATE_CACHE_MAXSIZE": str(AGGREGATE_CACHE_SIZE),
            "AGGREGATE_CACHE_FASTFORWARD": "y",
        })

    def _forget_cached(self) -> None:
        """A rolled-back write may have cached the aggregates it saved at versions never
        committed (a later load in the same transaction fast-forwards over its own
        events): those, and only those, are dropped from the cache."""
        saved = self._local.__dict__.pop("saved", ())
        cache = self.repository.cache
        if cache is None:
            return
        for uuid in saved:
            with contextlib.suppress(KeyError):
                cache.get(uuid, evict=True)

    def _settle_cached(self) -> None:
        self._local.__dict__.pop("saved", None)

    def construct_factory(self, env: Environment) -> SQLAlchemyFactory:  # type: ignore[override]
        factory = SQLAlchemyFactory(env)
        factory.application_recorder_class = LockHeldRecorder
        factory.aggregate_recorder_class = SnapshotRecorder
        factory.datastore.set_scoped_session(self.db.session)
        return factory

    def save(self, *objs: Any, **kwargs: Any) -> list[Recording[UUID]]:
        """Store the events and project them, in one transaction."""
        with self.db.writing() as session:
            # Noted before storing: a save that fails part way is forgotten all the same.
            self._local.__dict__.setdefault("saved", set()).update(
                _originator(o) for o in objs if o is not None)
            try:
                recordings = self._store(*objs, **kwargs)
                if recordings:
                    self._after_store(session.connection(), recordings)
                    self._local.position = recordings[-1].notification.id
            except BaseException:
                # Events may be stored without their chain links or read models: the
                # write must not commit, even if a caller catches this and goes on.
                self.db.abandon()
                raise
        return recordings

    def _store(self, *objs: Any, **kwargs: Any) -> list[Recording[UUID]]:
        """The library's ``save``, with the pending events gathered by ``Collected``
        (the library's own ``notify`` is deprecated and does nothing: not called)."""
        collected = Collected()
        collected.collect_events(*objs, **kwargs)
        recordings = self._record(collected)
        self._take_snapshots(collected)
        self._notify(recordings)
        return recordings

    def _after_store(self, conn: Any, recordings: Sequence[Recording[UUID]]) -> None:
        """Chain and project stored events; their small writes go in one round trip."""
        with Pending.held(conn) as pending:
            for hook in self.after_save:
                hook(conn, recordings, pending)
            rows = self.projector.apply(
                conn, [(r.notification.id, r.domain_event) for r in recordings],
                known=self._local.__dict__.pop("loaded", None), pending=pending)
        self._local.projected = {i: as_resource_row(r) for i, r in rows.items()}

    def aggregate(self, uuid: UUID) -> Resource:
        """An aggregate as its events make it (read inside a write, so the lock is held)."""
        with self.db.writing():
            found: Resource = self.repository.get(uuid, projector_func=mutate)
            return found

    # -- reading inside a command ---------------------------------------------
    def _lookup(self) -> CurrentLookup:
        return CurrentLookup(self.db.session().connection(), self.tables)

    def _load(self, meta: Meta, kind: str, resource_id: int,
              expected_version: ExpectedVersion = None) -> tuple[Resource, dict[str, Any]]:
        raw = self._lookup().current_row(resource_id)
        row = as_resource(raw) if raw is not None else None
        if raw is not None:  # the projector starts from this row instead of reading it again
            self._local.loaded = {raw["uuid"]: raw}
        if row is None or row["kind"] != kind or not _visible(meta, row):
            raise NotFound(f"no {kind} with id {resource_id}")
        aggregate: Resource = self.repository.get(UUID(row["uuid"]), projector_func=mutate)
        assert isinstance(aggregate, Resource)
        # Compared here, under the write lock, and nowhere else: a version read before
        # the lock could be stale by the time the write is saved.
        if expected_version is not None:
            accepted = expected_version if isinstance(expected_version, frozenset) \
                else frozenset({expected_version})
            if aggregate.version not in accepted:
                raise VersionMismatch(_mismatch(kind, resource_id, aggregate.version,
                                                accepted))
        row["id"] = resource_id
        return aggregate, row

    def written_position(self) -> int | None:
        """The position of the last event this thread's latest command saved (None
        when it saved none): what a write's response says it reflects."""
        found: int | None = getattr(self._local, "position", None)
        return found

    def _command(self, fn: Callable[[], T]) -> T:
        self._local.position = None
        try:
            with self.db.writing():
                return fn()
        finally:
            self._local.__dict__.pop("loaded", None)
            self._local.__dict__.pop("projected", None)

    def _current(self, resource_id: int) -> dict[str, Any]:
        projected = getattr(self._local, "projected", {})
        if resource_id in projected:
            found: dict[str, Any] = projected[resource_id]
            return found
        row = self._lookup().current(resource_id)
        assert row is not None
        return row

    # -- commands -------------------------------------------------------------
    def register(self, meta: Meta, kind: str, fields: dict[str, Any],
                 variables: dict[str, Any] | None = None,
                 labels: list[str] | None = None, secret: str | None = None) -> dict[str, Any]:
        """Create a resource; returns its row (with the new integer id)."""
        spec = KINDS[kind]

        def run() -> dict[str, Any]:
            check_fields(spec, {**field_defaults(spec), **fields}, creating=True)
            project_id = self._project_for(meta, spec)
            lookup = self._lookup()
            values = rules.resolve_references(lookup, spec, project_id, fields)
            _check_tree(lookup, spec, None, values)
            rules.check_name_free(lookup, spec, project_id, values)
            if kind == "instance":
                rules.check_host_active(lookup, values.get("host_id"))
            aggregate = AGGREGATES[kind].register(
                meta.as_dict(), project_id, values, variables, labels)
            if secret is not None:
                assert isinstance(aggregate, User)
                aggregate.issue_token(meta.as_dict(), secret)
            recordings = self.save(aggregate)
            return self._current(recordings[0].notification.id)

        return self._command(run)

    def update(self, meta: Meta, kind: str, resource_id: int, changes: dict[str, Any],
               expected_version: ExpectedVersion = None) -> dict[str, Any]:
        def run() -> dict[str, Any]:
            spec, lookup = KINDS[kind], self._lookup()
            aggregate, row = self._load(meta, kind, resource_id, expected_version)
            check_fields(spec, {k: v for k, v in changes.items()  # (as Resource.update)
                                if row["fields"].get(k) != v}, creating=False)
            merged = rules.resolve_references(
                lookup, spec, row["project_id"], {**row["fields"], **changes})
            values = {k: merged[k] for k in {*changes, "cloud_id", "region_id"}
                      if k in merged and merged[k] != row["fields"].get(k)}
            _check_tree(lookup, spec, resource_id, merged)
            rules.check_name_free(lookup, spec, row["project_id"], merged, resource_id)
            self._check_movable(spec, resource_id, row, values)
            host_id = values.pop("host_id", row["fields"].get("host_id"))
            aggregate.update(meta.as_dict(), values)
            if isinstance(aggregate, Instance):
                self._place(meta, aggregate, host_id)
            self.save(aggregate)
            return self._current(resource_id)

        return self._command(run)

    def _check_movable(self, spec: Kind, resource_id: int, row: dict[str, Any],
                       values: dict[str, Any]) -> None:
        """A region or cell that holds resources keeps its place (``rules.check_movable``)."""
        moved = rules.moved_fields(spec, row["fields"], values)
        through = rules.copying_reference(spec)
        if moved and through is not None:
            rules.check_movable(
                {"kind": row["kind"], "name": row["fields"].get("name")}, moved,
                dependents_by_kind(self.db.session().connection(), resource_id, through,
                                   self.tables))

    def place_instance(self, meta: Meta, instance_id: int, host_id: int | None,
                       expected_version: ExpectedVersion = None) -> dict[str, Any]:
        """Put an instance on a host (or none); the host must be active."""
        def run() -> dict[str, Any]:
            aggregate, row = self._load(meta, "instance", instance_id, expected_version)
            rules.resolve_references(
                self._lookup(), KINDS["instance"], row["project_id"], {"host_id": host_id})
            assert isinstance(aggregate, Instance)
            self._place(meta, aggregate, host_id)
            self.save(aggregate)
            return self._current(instance_id)

        return self._command(run)

    def _place(self, meta: Meta, aggregate: Instance, host_id: int | None) -> None:
        if host_id != aggregate.fields.get("host_id"):
            rules.check_host_active(self._lookup(), host_id)
        aggregate.place(meta.as_dict(), host_id)

    def _change(self, meta: Meta, kind: str, resource_id: int,
                act: Callable[[Resource], None],
                expected_version: ExpectedVersion = None) -> dict[str, Any]:
        """Load, act, save; the row comes back with the variables and labels now held."""
        def run() -> dict[str, Any]:
            aggregate, _ = self._load(meta, kind, resource_id, expected_version)
            act(aggregate)
            self.save(aggregate)
            return {**self._current(resource_id), "variables": dict(aggregate.variables),
                    "labels": list(aggregate.labels)}

        return self._command(run)

    def set_variables(self, meta: Meta, kind: str, resource_id: int,
                      values: dict[str, Any], expected_version: ExpectedVersion = None
                      ) -> dict[str, Any]:
        return self._change(meta, kind, resource_id,
                            lambda a: a.set_variables(meta.as_dict(), values),
                            expected_version)

    def delete_variables(self, meta: Meta, kind: str, resource_id: int, keys: list[str],
                         expected_version: ExpectedVersion = None) -> dict[str, Any]:
        return self._change(meta, kind, resource_id,
                            lambda a: a.delete_variables(meta.as_dict(), keys),
                            expected_version)

    def add_labels(self, meta: Meta, kind: str, resource_id: int, labels: list[str],
                   expected_version: ExpectedVersion = None) -> dict[str, Any]:
        return self._change(meta, kind, resource_id,
                            lambda a: a.add_labels(meta.as_dict(), labels),
                            expected_version)

    def remove_labels(self, meta: Meta, kind: str, resource_id: int, labels: list[str],
                      expected_version: ExpectedVersion = None) -> dict[str, Any]:
        return self._change(meta, kind, resource_id,
                            lambda a: a.remove_labels(meta.as_dict(), labels),
                            expected_version)

    def record_facts(self, meta: Meta, kind: str, resource_id: int,
                     facts: dict[str, Any]) -> dict[str, Any]:
        return self._change(meta, kind, resource_id,
                            lambda a: a.record_facts(meta.as_dict(), facts))

    def issue_token(self, meta: Meta, user_id: int, token_hash: str) -> dict[str, Any]:
        def act(a: Resource) -> None:
            assert isinstance(a, User)
            a.issue_token(meta.as_dict(), token_hash)

        return self._change(meta, "user", user_id, act)

    def delete(self, meta: Meta, kind: str, resource_id: int,
               expected_version: ExpectedVersion = None) -> None:
        def run() -> None:
            aggregate, row = self._load(meta, kind, resource_id, expected_version)
            if kind == "project":
                self._check_project_empty(row)
            else:
                rules.check_deletable(self._lookup(), row)
            aggregate.delete(meta.as_dict())
            self.save(aggregate)

        self._command(run)

    def _check_project_empty(self, row: dict[str, Any]) -> None:
        t = self.tables.resources
        count = self.db.session().connection().execute(
            select(func.count()).where(
                t.c.project_id == row["uuid"], t.c.valid_to.is_(None), t.c.id != row["id"])
        ).scalar_one()
        if count:
            raise rules.HasChildren(
                f"project {row['name']!r} still holds {count} resources; delete them first")

    def _project_for(self, meta: Meta, spec: Kind) -> str | None:
        if spec.name == "project":
            return None
        if spec.name == "user":
            return meta.project_id
        if meta.project_id is None:
            raise InvalidInput(
                f"a {spec.name} belongs to a project: name one (X-Auth-Project)")
        self.check_project(meta.project_id)
        return meta.project_id

    def check_project(self, project_id: str) -> None:
        """InvalidInput unless the project exists (read inside the caller's write)."""
        if self._lookup().project_by_uuid(project_id) is None:
            raise InvalidInput(f"no project {project_id}")


def _mismatch(kind: str, resource_id: int, version: int, accepted: frozenset[int]) -> str:
    """Why a write accepting only ``accepted`` versions is refused, naming them."""
    if not accepted:
        return f"{kind} {resource_id} is at version {version}, and the write accepts no version"
    wanted = " or ".join(str(v) for v in sorted(accepted))
    return f"{kind} {resource_id} is at version {version}, not {wanted}"


def _visible(meta: Meta, row: dict[str, Any]) -> bool:
    if meta.project_id is None:
        return True
    if row["kind"] == "project":
        return bool(row["uuid"] == meta.project_id)
    return bool(row["project_id"] == meta.project_id)


def _check_tree(lookup: rules.Lookup, spec: Kind, resource_id: int | None,
                values: dict[str, Any]) -> None:
    if "parent_id" in spec.fields:
        rules.check_no_cycle(lookup, resource_id, values.get("parent_id"))
