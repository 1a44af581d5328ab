"""Bulk import: many resources per transaction, rules checked batch by batch.

The document is read whole first (its shape, which item each name means: see
``import_names``); then the same rules as single commands hold (fields, references
in the project, names unique per parent, instances only on active hosts), with
lookups made once per batch instead of once per resource.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from sqlalchemy import Connection, select

from craton.application import Ledger
from craton.batches import pieces
from craton.collector import collector_paused
from craton.domain import rules
from craton.domain.errors import InvalidInput, NameTaken
from craton.domain.ids import MAX_ID
from craton.domain.inventory import AGGREGATES
from craton.domain.kinds import KINDS, field_defaults
from craton.domain.meta import Meta
from craton.domain.validation import check_fields
from craton.import_document import GROUPS, ORDER, Entry, Key
from craton.import_names import Stage, resolve_document
from craton.progress import Progress
from craton.projections.bulk import analyze, analyze_committed
from craton.projections.listing import project_uuid
from craton.projections.lookup import RESOURCE_COLUMNS, CurrentLookup, as_resource_row
from craton.projections.pages import of_resources
from craton.projections.tables import Tables

ANALYZE_AFTER = 10_000  # resources imported at once


Rows = dict[int, dict[str, Any] | None]  # rows read by id (None: no such live row)


class BatchLookup(CurrentLookup):
    """The domain's Lookup with the rows of a whole batch read in one go.

    ``rows`` may be shared by the batches of one import: it only registers new
    resources and holds the write lock throughout, so a row once read stays
    true until it commits (200 batches of instances on 20,000 hosts otherwise
    read each host ten times, and the tables' statistics, taken before the
    import grew them, make each read a scan).
    """

    def __init__(self, conn: Connection, tables: Tables, rows: Rows | None = None) -> None:
        super().__init__(conn, tables)
        self.rows: Rows = {} if rows is None else rows

    def preload(self, ids: Iterable[int]) -> None:
        missing = sorted({i for i in ids if _is_id(i) and i not in self.rows})
        # (the fields' check refuses what is no id)
        for chunk in pieces(missing):
            for i in chunk:
                self.rows[i] = None
            for row in self.conn.execute(of_resources(self.t, RESOURCE_COLUMNS, "id", False),
                                         {"ids": chunk}).mappings():
                self.rows[row["id"]] = as_resource_row(row)

    def current(self, resource_id: int) -> dict[str, Any] | None:
        if not _is_id(resource_id):  # (true would find 1: equal keys)
            return None
        if resource_id not in self.rows:
            self.preload([resource_id])
        return self.rows[resource_id]

    def taken(self, keys: list[str]) -> dict[str, int]:
        out: dict[str, int] = {}
        for chunk in pieces(keys):
            rows = self.conn.execute(select(self.t.c.unique_key, self.t.c.id).where(
                self.t.c.unique_key.in_(chunk),
                self.t.c.valid_to.is_(None)))
            out.update({k: i for k, i in rows})
        return out


def register_many(ledger: Ledger, meta: Meta, kind: str, items: list[dict[str, Any]],
                  batch_size: int = 1000, progress: Progress | None = None,
                  known: Rows | None = None) -> list[int]:
    """Register resources in batches; each item has fields, variables, labels, facts.

    ``known``: rows read by earlier batches of the same write (see ``BatchLookup``).
    """
    spec, ids = KINDS[kind], []
    for chunk in pieces(items, batch_size):
        with ledger.db.writing() as session:
            lookup = BatchLookup(session.connection(), ledger.tables, known)
            refs = [v for item in chunk for name, f in spec.fields.items() if f.refers_to
                    for v in _as_list(item["fields"].get(name))]
            lookup.preload(refs)
            prepared = []
            for item in chunk:
                values = {**field_defaults(spec), **item["fields"]}
                check_fields(spec, values, creating=True)  # before references are read
                values = rules.resolve_references(lookup, spec, meta.project_id, values)
                if "parent_id" in spec.fields and values.get("parent_id"):
                    rules.check_no_cycle(lookup, None, values["parent_id"])
                if kind == "instance":
                    rules.check_host_active(lookup, values.get("host_id"))
                prepared.append((item, values))
            _check_names(lookup, spec, meta, [v for _, v in prepared])
            aggregates = []
            for item, values in prepared:
                aggregate = AGGREGATES[kind].register(
                    meta.as_dict(), meta.project_id, values, item.get("variables"),
                    item.get("labels"), fields_checked=True)
                if item.get("facts"):
                    aggregate.record_facts(meta.as_dict(), item["facts"])
                aggregates.append(aggregate)
            recordings = ledger.save(*aggregates)
            ids += [r.notification.id for r in recordings
                    if r.domain_event.originator_version == 1]
            session.expunge_all()  # flushed records need not stay in memory
        if progress is not None:
            progress.advance(len(chunk))
    return ids


def _is_id(value: Any) -> bool:
    """Whether a value may be a resource id (a whole number in range, not a boolean)."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ID


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [] if value is None else [value]


def _check_names(lookup: BatchLookup, spec: Any, meta: Meta,
                 batch: list[dict[str, Any]]) -> None:
    """Refuse names the project already has; a name the document gives twice in one
    scope was refused with the document (``import_names``), whatever the batches."""
    keys = [spec.unique_key(meta.project_id, v) for v in batch]
    taken = lookup.taken([k for k in keys if k is not None])
    if taken:
        names = ", ".join(sorted(k.rsplit("|", 1)[-1] for k in taken)[:5])
        raise NameTaken(f"{spec.plural} already exist: {names}")


def import_fleet(ledger: Ledger, meta: Meta, document: object,
                 batch_size: int = 1000, show_progress: bool | None = None) -> dict[str, int]:
    """Import a document of resources keyed by plural, referring to each other by name.

    All or nothing: the document is checked whole first, and the batches share one
    transaction, so a refused item leaves no trace of the import.
    """
    meta = _into_project(meta)
    stages = resolve_document(document)
    total = sum(len(entries) for _, entries in stages)
    bar = Progress("import", total, enabled=show_progress)
    grown = total >= ANALYZE_AFTER  # the planner should know the tables grew
    nested = ledger.db.in_write  # part of a caller's write: its statistics come with it
    with ledger.db.writing() as session, collector_paused():
        conn = session.connection()
        ledger.check_project(str(meta.project_id))
        counts = _import_stages(ledger, meta, stages, batch_size, bar, conn)
        if grown and nested:
            analyze(conn, ledger.tables.rebuildable)
    if grown and not nested:  # after the commit, so writers do not wait on it
        analyze_committed(ledger.db, ledger.tables.rebuildable)
    bar.finish()
    return {KINDS[kind].plural: counts[kind] for kind in ORDER if kind in counts}


def _into_project(meta: Meta) -> Meta:
    """The import's actor with its project's id spelled as stored (a UUID in lower case)."""
    if meta.project_id is None:
        raise InvalidInput("an import goes into a project: name one (--project)")
    stored = project_uuid(meta.project_id)
    if stored is None:
        raise InvalidInput(f"{meta.project_id!r} is not a project id (a UUID)")
    return replace(meta, project_id=stored)


def _import_stages(ledger: Ledger, meta: Meta, stages: list[Stage], batch_size: int,
                   bar: Progress, conn: Connection) -> dict[str, int]:
    """Register the document's items stage by stage; how many of each kind."""
    counts: dict[str, int] = {}
    ids: dict[Key, int] = {}  # each item of the document, once registered
    known: Rows = {}  # rows read, shared by every batch
    for n, (kind, entries) in enumerate(stages):
        items = [e.item(_ids_named(e, ids)) for e in entries]
        new = register_many(ledger, meta, kind, items, batch_size, bar, known)
        if len(new) >= ANALYZE_AFTER and n + 1 < len(stages):
            # The kinds after this one read its rows (instances their hosts): with
            # statistics from before the import, each read was a scan of the table.
            analyze(conn, [ledger.tables.resources])
        ids.update(zip((e.key for e in entries), new, strict=True))
        counts[kind] = counts.get(kind, 0) + len(new)
    return counts


def _ids_named(entry: Entry, ids: dict[Key, int]) -> dict[str, Any]:
    """The ids of the items ``entry`` names, by the field each fills."""
    named: dict[str, Any] = {field: ids[key] for field, key in entry.refs.items()}
    if entry.groups is not None:
        named[GROUPS] = [ids[key] for key in entry.group_refs]
    return named
