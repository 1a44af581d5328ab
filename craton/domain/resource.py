"""The aggregate every inventory resource is: fields, variables, labels, facts."""

from __future__ import annotations

from typing import Any

from eventsourcing.domain import Aggregate, event

from craton.domain import clock
from craton.domain.errors import InvalidInput, NotFound
from craton.domain.kinds import KINDS, Kind, field_defaults
from craton.domain.validation import (
    check_consistent,
    check_fields,
    check_json_values,
    check_labels,
)


class Event(Aggregate.Event):
    """Base of every inventory event: stamped by the domain clock."""

    create_timestamp = staticmethod(clock.now)


class Resource(Aggregate):
    """One thing in the inventory, with its whole life as events."""

    KIND = ""

    class Registered(Aggregate.Created):
        create_timestamp = staticmethod(clock.now)
        meta: dict[str, Any]
        project_id: str | None
        fields: dict[str, Any]
        variables: dict[str, Any]
        labels: list[str]

    @event(Registered)
    def __init__(
        self,
        meta: dict[str, Any],
        project_id: str | None,
        fields: dict[str, Any],
        variables: dict[str, Any],
        labels: list[str],
    ) -> None:
        self.project_id = project_id
        self.fields = dict(fields)
        self.variables = dict(variables)
        self.labels = sorted(set(labels))
        self.facts: dict[str, Any] = {}
        self.deleted = False

    @classmethod
    def spec(cls) -> Kind:
        return KINDS[cls.KIND]

    @classmethod
    def register(
        cls,
        meta: dict[str, Any],
        project_id: str | None,
        fields: dict[str, Any],
        variables: dict[str, Any] | None = None,
        labels: list[str] | None = None,
        *,
        fields_checked: bool = False,
    ) -> Resource:
        """A new resource; ``fields_checked``: the caller has already checked these
        fields, defaults filled in, with ``check_fields`` (a bulk import does, before
        reading their references)."""
        spec = cls.spec()
        if fields_checked:
            values = fields
        else:
            values = {**field_defaults(spec), **fields}
            check_fields(spec, values, creating=True)
        check_consistent(spec, values, set(values))
        check_json_values(variables or {})
        if labels and not spec.labels:
            raise InvalidInput(f"{spec.plural} carry no labels")
        check_labels(labels or [])
        return cls(meta, project_id, values, dict(variables or {}), list(labels or []))

    def _check_live(self) -> None:
        if self.deleted:
            raise NotFound(f"{self.spec().name} {self.fields.get('name')!r} was deleted")

    # -- fields ---------------------------------------------------------------
    class Updated(Event):
        meta: dict[str, Any]
        changes: dict[str, Any]

    def update(self, meta: dict[str, Any], changes: dict[str, Any]) -> None:
        self._check_live()
        changed = {k: v for k, v in changes.items() if self.fields.get(k) != v}
        # Only what changes is checked: a record stored before a rule was made stays
        # editable, and its unchanged values may be sent back as they were read.
        check_fields(self.spec(), changed, creating=False)
        check_consistent(self.spec(), {**self.fields, **changed}, set(changed))
        if changed:
            self._update(meta, changed)

    @event(Updated)
    def _update(self, meta: dict[str, Any], changes: dict[str, Any]) -> None:
        self.fields.update(changes)

    # -- variables ------------------------------------------------------------
    class VariablesSet(Event):
        meta: dict[str, Any]
        values: dict[str, Any]

    class VariablesDeleted(Event):
        meta: dict[str, Any]
        keys: list[str]

    def set_variables(self, meta: dict[str, Any], values: dict[str, Any]) -> None:
        self._check_live()
        if not self.spec().variables:
            raise InvalidInput(f"{self.spec().plural} carry no variables")
        check_json_values(values)
        changed = {
            k: v for k, v in values.items()
            if k not in self.variables or self.variables[k] != v
        }
        if changed:
            self._set_variables(meta, changed)

    @event(VariablesSet)
    def _set_variables(self, meta: dict[str, Any], values: dict[str, Any]) -> None:
        self.variables.update(values)

    def delete_variables(self, meta: dict[str, Any], keys: list[str]) -> None:
        self._check_live()
        present = sorted({k for k in keys if k in self.variables})
        if present:
            self._delete_variables(meta, present)

    @event(VariablesDeleted)
    def _delete_variables(self, meta: dict[str, Any], keys: list[str]) -> None:
        for key in keys:
            self.variables.pop(key, None)

    # -- labels ---------------------------------------------------------------
    class LabelsAdded(Event):
        meta: dict[str, Any]
        labels: list[str]

    class LabelsRemoved(Event):
        meta: dict[str, Any]
        labels: list[str]

    def add_labels(self, meta: dict[str, Any], labels: list[str]) -> None:
        self._check_live()
        if not self.spec().labels:
            raise InvalidInput(f"{self.spec().plural} carry no labels")
        check_labels(labels)
        new = sorted(set(labels) - set(self.labels))
        if new:
            self._add_labels(meta, new)

    @event(LabelsAdded)
    def _add_labels(self, meta: dict[str, Any], labels: list[str]) -> None:
        self.labels = sorted(set(self.labels) | set(labels))

    def remove_labels(self, meta: dict[str, Any], labels: list[str]) -> None:
        self._check_live()
        gone = sorted(set(labels) & set(self.labels))
        if gone:
            self._remove_labels(meta, gone)

    @event(LabelsRemoved)
    def _remove_labels(self, meta: dict[str, Any], labels: list[str]) -> None:
        self.labels = sorted(set(self.labels) - set(labels))

    # -- facts ----------------------------------------------------------------
    class FactsRecorded(Event):
        meta: dict[str, Any]
        facts: dict[str, Any]

    def record_facts(self, meta: dict[str, Any], facts: dict[str, Any]) -> None:
        self._check_live()
        if not self.spec().facts:
            raise InvalidInput(f"{self.spec().plural} carry no facts")
        check_json_values(facts, what="facts", max_value_bytes=None)
        changed = {k: v for k, v in facts.items() if self.facts.get(k, ...) != v}
        if changed:
            self._record_facts(meta, changed)

    @event(FactsRecorded)
    def _record_facts(self, meta: dict[str, Any], facts: dict[str, Any]) -> None:
        self.facts.update(facts)

    # -- deletion -------------------------------------------------------------
    class Deleted(Event):
        meta: dict[str, Any]

    def delete(self, meta: dict[str, Any]) -> None:
        self._check_live()
        self._delete(meta)

    @event(Deleted)
    def _delete(self, meta: dict[str, Any]) -> None:
        self.deleted = True
