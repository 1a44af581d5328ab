"""Checks on the shape of fields, variables and labels."""

from __future__ import annotations

import json
from typing import Any

from craton.domain.addresses import FORMATS, network_problems
from craton.domain.errors import InvalidInput
from craton.domain.ids import MAX_ID
from craton.domain.kinds import FieldSpec, Kind

MAX_NAME = 255  # characters of a resource's name
MAX_LABEL = 255
MAX_KEY_BYTES = 255  # a variable's or fact's key (UTF-8)
# A variable's value as JSON (UTF-8): variables are matched by value, through an index
# whose entries PostgreSQL caps at about 2.7 KB with the key. Facts are not matched by
# value and have no such limit.
MAX_VARIABLE_BYTES = 2000


def _chosen(field: FieldSpec, value: Any) -> bool:
    return (value.lower() if field.any_case and isinstance(value, str) else value) \
        in field.choices


def check_fields(spec: Kind, values: dict[str, Any], *, creating: bool) -> None:
    """Raise InvalidInput listing every unknown, missing or mistyped field."""
    errors: dict[str, list[str]] = {}
    for name, value in values.items():
        field = spec.fields.get(name)
        if field is None:
            errors[name] = ["unknown field"]
            continue
        if value is None:
            # (a field with a default has a value always: null would leave it without)
            if field.required or field.default is not None:
                errors[name] = ["may not be null"]
            continue
        if isinstance(value, bool) and field.type in (int, (int, float)):
            errors[name] = ["must be a number, not a boolean"]
        elif not isinstance(value, field.type):
            expected = getattr(field.type, "__name__", "number")
            errors[name] = [f"must be of type {expected}"]
        elif field.choices and not _chosen(field, value):
            errors[name] = [f"must be one of {', '.join(field.choices)}"]
        elif name == "name" and not str(value).strip():
            errors[name] = ["may not be empty"]
        elif isinstance(value, str) and len(value) > _longest(name, field):
            errors[name] = [f"may be at most {_longest(name, field)} characters long"]
        elif field.refers_to and not _ids(value):
            errors[name] = [f"must name ids from 1 to {MAX_ID}"]
        elif isinstance(value, list) and (twice := _repeated(value)):
            errors[name] = [f"lists {twice[0]!r} more than once"]
        elif problem := value_problem(field, value):
            errors[name] = [problem]
    if creating:
        for name, field in spec.fields.items():
            if field.required and values.get(name) is None and name not in errors:
                errors[name] = ["is required"]
    if errors:
        raise InvalidInput(f"invalid {spec.name}: " + _summary(errors), errors)


def _longest(name: str, field: FieldSpec) -> float:
    if field.max_length is not None:
        return field.max_length
    return MAX_NAME if name == "name" else float("inf")


def _ids(value: Any) -> bool:
    """Whether a reference (an id, or a list of them) is within the range of ids."""
    return all(not isinstance(v, int) or 1 <= v <= MAX_ID
               for v in (value if isinstance(value, list) else [value]))


def _repeated(values: list[Any]) -> tuple[Any, ...]:
    """The first value a list (of ids, numbers or names) holds twice, or ()."""
    seen: set[Any] = set()
    for value in values:
        if isinstance(value, (str, int, float)):
            if value in seen:
                return (value,)
            seen.add(value)
    return ()


def value_problem(field: FieldSpec, value: Any) -> str | None:
    """What is wrong with a value of the right type: out of bounds, or not in the
    field's format (an address, a network, a netmask)."""
    if field.format is not None and isinstance(value, str):
        return FORMATS[field.format](value)
    if field.minimum is None and field.maximum is None:
        return None
    numbers = value if isinstance(value, list) else [value]
    if any(not isinstance(n, int) or isinstance(n, bool) for n in numbers):
        return "must hold whole numbers" if isinstance(value, list) else None
    outside = [n for n in numbers if not _within(field, n)]
    if not outside:
        return None
    bounds = f"from {field.minimum} to {field.maximum}"
    if isinstance(value, list):
        return f"each must be {bounds}, not {', '.join(map(str, outside))}"
    return f"must be {bounds}"


def _within(field: FieldSpec, number: int) -> bool:
    low = field.minimum if field.minimum is not None else number
    high = field.maximum if field.maximum is not None else number
    return low <= number <= high


def check_consistent(spec: Kind, fields: dict[str, Any], changed: set[str]) -> None:
    """Rules across a resource's fields (a network's gateway in its cidr), checked
    when one of the fields they compare changes: a stored resource that predates a
    rule stays editable in its other fields."""
    if spec.name != "network" or not changed & {"cidr", "gateway", "netmask"}:
        return
    errors = network_problems(fields)
    if errors:
        raise InvalidInput(f"invalid {spec.name}: " + _summary(errors), errors)


def check_json_values(values: dict[str, Any], *, what: str = "variables",
                      max_value_bytes: int | None = MAX_VARIABLE_BYTES) -> None:
    """Variables and facts must be JSON values under non-empty string keys of at most
    ``MAX_KEY_BYTES``; a value's JSON at most ``max_value_bytes`` (None: any length)."""
    errors: dict[str, list[str]] = {}
    for key, value in values.items():
        if not isinstance(key, str) or not key:
            errors[str(key)] = ["keys must be non-empty strings"]
            continue
        if len(key.encode()) > MAX_KEY_BYTES:
            errors[key[:40]] = [f"keys may be at most {MAX_KEY_BYTES} bytes long"]
            continue
        try:
            text = json.dumps(value, allow_nan=False, ensure_ascii=False,
                              separators=(",", ":"))
        except (TypeError, ValueError):
            errors[key] = ["value is not JSON"]
            continue
        if max_value_bytes is not None and len(text.encode()) > max_value_bytes:
            errors[key] = [f"value is longer than {max_value_bytes} bytes as JSON"]
    if errors:
        raise InvalidInput(f"invalid {what}: " + _summary(errors), errors)


def check_labels(labels: list[str]) -> None:
    bad = [
        repr(x) for x in labels
        if not isinstance(x, str) or not x.strip() or len(x) > MAX_LABEL
    ]
    if bad:
        raise InvalidInput(
            f"labels must be non-empty strings of at most {MAX_LABEL} characters: "
            + ", ".join(bad),
            {"labels": ["invalid label"]},
        )


def _summary(errors: dict[str, list[str]]) -> str:
    return "; ".join(f"{k}: {', '.join(v)}" for k, v in sorted(errors.items()))
