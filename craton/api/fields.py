"""Marshmallow fields for what JSON and query strings carry, strictly typed."""

from __future__ import annotations

import json
from typing import Any

from marshmallow import ValidationError, fields

from craton.codec import UnstorableValue, check_value
from craton.domain.errors import InvalidInput
from craton.domain.ids import MAX_ID
from craton.projections.timeline import parse_moment


class StrictInteger(fields.Integer):
    """An integer that is not a boolean (JSON bodies)."""

    def __init__(self, **kwargs: Any):
        super().__init__(strict=True, **kwargs)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, bool):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


class StrictNumber(fields.Float):
    """An integer or float that is not a boolean (JSON bodies)."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.make_error("invalid")
        return value


class StrictBoolean(fields.Boolean):
    """``true`` or ``false`` and nothing else (JSON bodies)."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


class StrictString(fields.String):
    """A string; numbers are not silently turned into strings."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        if not isinstance(value, str):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


class Moment(fields.String):
    """An RFC 3339 time or ``@<position>`` (kept as text; resolved against a snapshot)."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            moment = parse_moment(text)
        except InvalidInput as exc:
            raise ValidationError(exc.message) from None
        if isinstance(moment, int) and moment > MAX_ID:
            raise ValidationError(f"no position is beyond @{MAX_ID}")
        return text


class CommaList(fields.String):
    """``a,b,c`` as a list of strings, each one of ``choices`` when given."""

    def __init__(self, choices: tuple[str, ...] = (), **kwargs: Any):
        super().__init__(**kwargs)
        self.choices = choices

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        items = [x.strip() for x in super()._deserialize(value, attr, data, **kwargs).split(",")]
        bad = [x for x in items if not x or (self.choices and x not in self.choices)]
        if bad:
            raise ValidationError(
                f"unknown: {', '.join(map(repr, bad))}; choose from {', '.join(self.choices)}")
        return items


# Terms of one filter (variables in ``vars=``, ``label=`` values): each is a join in
# the listing's query, and PostgreSQL's planning of many grows far faster than their
# number (150 variables took 15 s for one page of 20,000 hosts, 20 took 0.17 s).
MAX_FILTER_TERMS = 16


class VarsFilter(fields.String):
    """``key:<json>[,key:<json>...]``: variables a listing must match."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        text = super()._deserialize(value, attr, data, **kwargs)
        wanted = parse_vars(text)
        if len(wanted) > MAX_FILTER_TERMS:
            raise ValidationError(f"at most {MAX_FILTER_TERMS} variables in one filter, "
                                  f"not {len(wanted)}")
        return wanted


class LabelsFilter(fields.List):
    """``label=`` given once or more: labels a listing's items must all carry (each
    once, however often it is given)."""

    def __init__(self, **kwargs: Any):
        super().__init__(fields.String(), load_default=list, **kwargs)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        labels = list(dict.fromkeys(super()._deserialize(value, attr, data, **kwargs)))
        if len(labels) > MAX_FILTER_TERMS:
            raise ValidationError(f"at most {MAX_FILTER_TERMS} labels in one filter, "
                                  f"not {len(labels)}")
        return labels


def _decode_value(decoder: json.JSONDecoder, text: str, start: int, key: str
                  ) -> tuple[Any, int]:
    """The JSON value of ``key`` at ``start`` and where it ends; a query string is
    held to what a body is (``codec.check_value``)."""
    try:
        value, end = decoder.raw_decode(text, start)
        check_value(value)
    except json.JSONDecodeError:
        raise ValidationError(
            f"the value of {key!r} is not JSON (quote strings: {key}:\"a\")") from None
    except RecursionError:
        raise ValidationError(f"the value of {key!r} is nested too deep") from None
    except UnstorableValue as exc:
        raise ValidationError(f"the value of {key!r}: {exc}") from None
    return value, end


def parse_vars(text: str) -> dict[str, Any]:
    """``key:<json>[,key:<json>...]`` as a mapping of keys to JSON values."""
    decoder = json.JSONDecoder()
    out: dict[str, Any] = {}
    i = 0
    while i < len(text):
        colon = text.find(":", i)
        key = text[i:colon].strip() if colon >= 0 else ""
        if not key:
            raise ValidationError(f"expected key:<json value> at character {i}")
        j = colon + 1
        while j < len(text) and text[j] == " ":
            j += 1
        value, end = _decode_value(decoder, text, j, key)
        out[key] = value
        rest = text[end:].lstrip()
        if rest and not rest.startswith(","):
            raise ValidationError(f"expected ',' after the value of {key!r}")
        i = len(text) - len(rest) + 1 if rest else len(text)
    return out
