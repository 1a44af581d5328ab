"""Query strings, one schema per kind of GET; unknown parameters are refused."""

from __future__ import annotations

from functools import cache
from typing import Any

import falcon
from marshmallow import Schema, ValidationError, fields, validate

from craton.domain.ids import MAX_ID
from craton.domain.kinds import DEVICE_KINDS, KINDS, Kind
from craton.projections.listing import FILTERABLE, sortable_of

from .errors import flatten, invalid
from .fields import CommaList, LabelsFilter, Moment, VarsFilter

ID_RANGE = validate.Range(min=0, max=MAX_ID)
RESOURCE_TYPES = tuple(sorted({*KINDS, *(k.plural for k in KINDS.values())}))


def _as_of() -> fields.Field:
    return Moment(metadata={"description": "an RFC 3339 time or @<position>"})


def _filter(name: str) -> fields.Field:
    if name == "active":
        return fields.Boolean()
    if name.endswith("_id"):
        return fields.Integer(validate=ID_RANGE)
    return fields.String()


def filters_of(kinds: tuple[Kind, ...]) -> list[str]:
    names = {n for k in kinds for n in k.fields}
    return [f for f in FILTERABLE if f in names]


@cache
def list_params(kind_names: tuple[str, ...]) -> Schema:
    """``GET /v1/<plural>``: paging, sorting, filters on fields, labels and variables."""
    kinds = tuple(KINDS[k] for k in kind_names)
    project = kind_names == ("project",)
    specs: dict[str, fields.Field] = {
        "limit": fields.Integer(load_default=30, validate=validate.Range(min=1, max=1000)),
        "marker": fields.String() if project else fields.Integer(
            validate=ID_RANGE),
        "sort_keys": CommaList(sortable_of(kind_names), load_default=["created_at", "id"]),
        "sort_dir": fields.String(load_default="asc", validate=validate.OneOf(("asc", "desc"))),
        "details": fields.Boolean(load_default=False),
        "as_of": _as_of(),
    }
    if any(k.variables for k in kinds):
        specs["vars"] = VarsFilter(metadata={"description": 'key:<json>[,...], e.g. zone:"a"'})
        specs["resolved_values"] = fields.Boolean(load_default=False,
                                                  data_key="resolved-values")
    if any(k.labels for k in kinds):
        specs["label"] = LabelsFilter()
    for name in filters_of(kinds):
        specs[name] = _filter(name)
    if "name" not in specs and not project:
        specs["name"] = fields.String()
    if kind_names == DEVICE_KINDS:
        specs["descendants"] = fields.Boolean(load_default=False)
    if project:
        specs["name"] = fields.String()
    title = "".join(KINDS[k].title for k in kind_names)
    return Schema.from_dict(specs, name=f"{title}ListParams")()


AsOfParams = Schema.from_dict({"as_of": _as_of()}, name="AsOfParams")()
VariablesParams = Schema.from_dict({
    "as_of": _as_of(),
    "resolved_values": fields.Boolean(load_default=True, data_key="resolved-values"),
    "blame": fields.Boolean(load_default=False),
}, name="VariablesParams")()
EventsParams = Schema.from_dict({
    "since": Moment(), "until": Moment(), "as_of": _as_of(),
    "actor": fields.String(), "resource_type": fields.String(
        validate=validate.OneOf(RESOURCE_TYPES)),
    "resource_id": fields.Integer(validate=ID_RANGE),
    "event_type": fields.String(), "request_id": fields.String(), "run_id": fields.String(),
    "after": fields.Integer(validate=ID_RANGE),
    "limit": fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000)),
}, name="EventsParams")()
HistoryParams = Schema.from_dict({
    "as_of": _as_of(),
    "after": fields.Integer(validate=ID_RANGE),  # the last position the page before showed
    "limit": fields.Integer(load_default=1000, validate=validate.Range(min=1, max=10000)),
}, name="HistoryParams")()
DiffParams = Schema.from_dict({
    "from_": Moment(required=True, data_key="from"), "to": Moment(),
    "resource_type": fields.String(validate=validate.OneOf(RESOURCE_TYPES)),
    # Paged by resource id: ``after`` the last one the previous page compared.
    "after": fields.Integer(validate=ID_RANGE),
    "limit": fields.Integer(load_default=1000, validate=validate.Range(min=1, max=10000)),
}, name="DiffParams")()
AnsibleParams = Schema.from_dict({
    "region_id": fields.Integer(validate=ID_RANGE),
    "cell_id": fields.Integer(validate=ID_RANGE),
    "label": LabelsFilter(), "as_of": _as_of(),
}, name="AnsibleParams")()
class PageParams(Schema):
    """``limit`` and ``marker`` (the last id seen) of a listing paged by id."""

    limit = fields.Integer(load_default=30, validate=validate.Range(min=1, max=1000))
    marker = fields.Integer(validate=ID_RANGE)


class PinnedPageParams(PageParams):
    """``PageParams`` and ``as_of``, which a listing's links pin (runs, plans)."""

    as_of = _as_of()


def load_params(schema: Schema, req: falcon.Request) -> dict[str, Any]:
    """The query string through ``schema``: 400 listing every problem."""
    data: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    by_key = {f.data_key or n: f for n, f in schema.fields.items()}
    for key, value in req.params.items():
        is_list = isinstance(by_key.get(key), fields.List)
        if isinstance(value, list) and not is_list:
            errors[key] = ["given more than once"]
            continue
        data[key] = ([value] if not isinstance(value, list) else value) if is_list else value
    loaded: dict[str, Any] = {}
    try:
        loaded = schema.load(data)
    except ValidationError as exc:
        for k, v in flatten(exc.messages).items():
            errors.setdefault(k, []).extend(
                ["unknown parameter"] if v == ["Unknown field."] else v)
    if errors:
        raise invalid(errors, "query")
    return loaded


def normalise_type(value: str | None) -> str | None:
    """A resource type given as singular or plural, as the singular kind."""
    if value is None:
        return None
    return value if value in KINDS else next(
        k.name for k in KINDS.values() if k.plural == value)
