"""JSON text for the database: orjson where it is exact, the standard library where not.

orjson writes and reads JSON several times faster than the standard library,
but it cannot write integers beyond 64 bits and reads long integers as
floats; those (rare) values take the standard library's path both ways.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

_OPTIONS = orjson.OPT_NON_STR_KEYS
_CANONICAL = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS
_LONG_NUMBER = re.compile(r"\d{19}")


def dumps(value: Any) -> str:
    """JSON text of a value (compact, text as UTF-8)."""
    try:
        return orjson.dumps(value, option=_OPTIONS).decode()
    except TypeError:  # integers beyond 64 bits, say
        return json.dumps(value, separators=(",", ":"))


def canonical(value: Any) -> str:
    """The one spelling of a value: keys sorted, no spaces, text as UTF-8."""
    try:
        return orjson.dumps(value, option=_CANONICAL).decode()
    except TypeError:
        return json.dumps(value, sort_keys=True, separators=(",", ":"))


def loads(text: str | bytes) -> Any:
    """A value back from JSON text; nineteen digits in a row may be an integer that
    orjson would read as a float, so such text takes the standard parser."""
    if len(text) >= 19 and _LONG_NUMBER.search(
            text if isinstance(text, str) else text.decode()):
        return json.loads(text)
    return orjson.loads(text)
