"""Request bodies and responses, built once from the kinds the domain declares."""

from __future__ import annotations

from functools import cache
from typing import Any

from marshmallow import Schema, fields, validate

from craton.domain.ids import MAX_ID
from craton.domain.kinds import BY_PLURAL, KINDS, FieldSpec, Kind

from .auth import ROLES
from .fields import StrictBoolean, StrictInteger, StrictNumber, StrictString

NAME = validate.Length(min=1, max=255)
LABEL = StrictString(validate=validate.Length(min=1, max=255))
ID = {"validate": validate.Range(min=1, max=MAX_ID)}


def _title(kind: Kind) -> str:
    return kind.title


def _field(name: str, spec: FieldSpec, *, required: bool, creating: bool) -> fields.Field:
    """A body field; a new resource's values are checked here against the domain's
    choices and bounds too (and documented), a change's only by the domain, which
    checks the values that change (a record made before a rule stays editable)."""
    kw: dict[str, Any] = {"required": required, "allow_none": not required}
    if spec.choices and creating and not spec.any_case:
        kw["validate"] = validate.OneOf(spec.choices)
    doc = spec.doc
    if spec.choices and spec.any_case:
        doc = f"{doc} One of {', '.join(spec.choices)}, in any case.".strip()
    if doc:
        kw["metadata"] = {"description": doc}
    bounds = _bounds(spec) if creating else None
    if spec.type is list:
        inner: fields.Field = StrictInteger(**ID) if spec.refers_to else \
            StrictInteger(validate=bounds) if bounds else fields.Raw()
        return fields.List(inner, **kw)
    if spec.type is bool:
        return StrictBoolean(**kw)
    if spec.type is int:
        return StrictInteger(**{**kw, **(ID if spec.refers_to else {})},
                             **({"validate": bounds} if bounds else {}))
    if spec.type == (int, float):
        return StrictNumber(**kw)
    if name == "name":
        kw["validate"] = NAME
    elif spec.max_length is not None:
        kw["validate"] = validate.Length(max=spec.max_length)
    return StrictString(**kw)


def _bounds(spec: FieldSpec) -> validate.Range | None:
    """The domain's bounds on a number (or on each number of a list), for the
    documentation and the first check of a body."""
    if spec.minimum is None and spec.maximum is None:
        return None
    return validate.Range(min=spec.minimum, max=spec.maximum)


def _variables(**kw: Any) -> fields.Field:
    return fields.Dict(keys=StrictString(validate=NAME), values=fields.Raw(allow_none=True),
                       **kw)


@cache
def body_schema(kind_name: str, creating: bool) -> Schema:
    """The body of a POST (``creating``) or a partial PUT for one kind."""
    kind = KINDS[kind_name]
    specs: dict[str, fields.Field] = {}
    for name, spec in kind.fields.items():
        if kind_name == "user" and name == "name":
            specs["username"] = StrictString(required=creating, validate=NAME)
            continue
        specs[name] = _field(name, spec, required=creating and spec.required,
                             creating=creating)
    if kind_name == "user":
        specs["role"] = StrictString(required=creating, validate=validate.OneOf(ROLES))
        if creating:
            specs["project_id"] = fields.UUID(allow_none=True)
    if creating and kind.variables:
        specs["variables"] = _variables()
    if creating and kind.labels:
        specs["labels"] = fields.List(LABEL)
    verb = "New" if creating else "Changed"
    return Schema.from_dict(specs, name=f"{verb}{_title(kind)}")()


VariablesBody = Schema.from_dict(
    {"variables": _variables(required=True)}, name="VariablesBody")()
VariableKeysBody = Schema.from_dict(
    {"variables": fields.List(StrictString(validate=NAME), required=True)},
    name="VariableKeysBody")()
LabelsBody = Schema.from_dict({"labels": fields.List(LABEL, required=True)},
                             name="LabelsBody")()


# -- responses (documentation and conformance) ---------------------------------
def _out(name: str, spec: FieldSpec) -> fields.Field:
    return _field(name, spec, required=False, creating=True)  # (documents the rules)


@cache
def item_schema(kind_name: str) -> Schema:
    kind = KINDS[kind_name]
    specs: dict[str, fields.Field] = {
        "id": fields.String(required=True) if kind_name == "project"
        else fields.Integer(required=True),
        "uuid": fields.String(required=True),
        "project_id": fields.String(allow_none=True),
        "created_at": fields.String(required=True),
        "updated_at": fields.String(required=True),
    }
    for name, spec in kind.fields.items():
        specs["username" if kind_name == "user" and name == "name" else name] = _out(name, spec)
    if kind.variables:
        specs["variables"] = fields.Dict(allow_none=True)
    if kind.labels:
        specs["labels"] = fields.List(fields.String())
    if kind_name == "user":
        specs["token"] = fields.String()
    return Schema.from_dict(specs, name=_title(kind))()


Link = Schema.from_dict({"rel": fields.String(required=True),
                         "href": fields.String(required=True)}, name="Link")


@cache
def list_schema(plural: str) -> Schema:
    kind = BY_PLURAL[plural]
    return Schema.from_dict({
        plural: fields.List(fields.Nested(item_schema(kind.name)), required=True),
        "links": fields.List(fields.Nested(Link), required=True),
    }, name=f"{_title(kind)}List")()


Error = Schema.from_dict({
    "status": fields.Integer(required=True),
    "message": fields.String(required=True),
    "errors": fields.Dict(keys=fields.String(), values=fields.List(fields.String())),
}, name="Error")()

Blame = Schema.from_dict({"type": fields.String(), "id": fields.Raw(),
                          "name": fields.String(allow_none=True)}, name="Blame")
VariablesOut = Schema.from_dict({
    "variables": fields.Dict(required=True), "resolved": fields.Boolean(required=True),
    "blame": fields.Dict(keys=fields.String(), values=fields.Nested(Blame)),
}, name="Variables")()
LabelsOut = Schema.from_dict({"labels": fields.List(fields.String(), required=True)},
                             name="Labels")()
FactsOut = Schema.from_dict({"facts": fields.Dict(required=True)}, name="Facts")()

Actor = Schema.from_dict({"id": fields.Integer(allow_none=True),
                          "name": fields.String()}, name="Actor")
EventOut = Schema.from_dict({
    "position": fields.Integer(required=True), "time": fields.String(required=True),
    "event_type": fields.String(required=True), "resource_type": fields.String(),
    "resource_id": fields.Integer(allow_none=True), "resource_uuid": fields.String(),
    "version": fields.Integer(), "project_id": fields.String(allow_none=True),
    "actor": fields.Nested(Actor), "source": fields.String(),
    "request_id": fields.String(allow_none=True), "reason": fields.String(allow_none=True),
    "run_id": fields.String(allow_none=True), "changes": fields.Dict(),
}, name="Event")
EventsOut = Schema.from_dict({
    "events": fields.List(fields.Nested(EventOut), required=True),
    "links": fields.List(fields.Nested(Link), required=True),
}, name="EventList")()
HistoryEntry = Schema.from_dict({
    **EventOut._declared_fields, "state": fields.Dict(allow_none=True),
    "valid_from": fields.Integer(), "valid_to": fields.Integer(allow_none=True),
}, name="HistoryEntry")
HistoryOut = Schema.from_dict({
    "history": fields.List(fields.Nested(HistoryEntry), required=True),
    "links": fields.List(fields.Nested(Link), required=True)}, name="History")()
DiffOut = Schema.from_dict({
    "from": fields.Integer(required=True), "to": fields.Integer(required=True),
    "created": fields.List(fields.Dict(), required=True),
    "changed": fields.List(fields.Dict(), required=True),
    "deleted": fields.List(fields.Dict(), required=True),
    "links": fields.List(fields.Nested(Link), required=True),
}, name="Diff")()
DevicesOut = Schema.from_dict({
    "devices": fields.Dict(keys=fields.String(), values=fields.List(fields.Dict()),
                           required=True),
    "links": fields.List(fields.Nested(Link), required=True),
}, name="DeviceList")()
AnsibleOut = Schema.from_dict({"_meta": fields.Dict(required=True)},
                              name="AnsibleInventory")()
LinksOut = Schema.from_dict({"links": fields.List(fields.Nested(Link), required=True)},
                            name="Links")()
Status = Schema.from_dict({"status": fields.String(required=True)}, name="Status")()
