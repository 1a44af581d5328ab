"""JSON text for the database: orjson where it is exact, the standard library where not.

orjson writes and reads JSON several times faster than the standard library,
but it cannot write integers beyond 64 bits and reads long integers as
floats; those (rare) values take the standard library's path both ways.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

_OPTIONS = orjson.OPT_NON_STR_KEYS
_CANONICAL = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS
# Every digit becomes 0, so nineteen digits in a row are nineteen zeros: a bytes
# translation and a substring search, several times faster than the regex.
_DIGITS_AS_ZERO = bytes.maketrans(b"123456789", b"000000000")
_NINETEEN_DIGITS = b"0" * 19


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


def _maybe_long(text: str | bytes) -> bool:
    """Whether ``text`` holds nineteen digits in a row (perhaps a long integer)."""
    return len(text) >= 19 and _NINETEEN_DIGITS in (
        text.encode() if isinstance(text, str) else text).translate(_DIGITS_AS_ZERO)


def loads(text: str | bytes) -> Any:
    """A value back from JSON text; nineteen digits in a row may be an integer that
    orjson would read as a float, so such text takes the standard parser."""
    if _maybe_long(text):
        return json.loads(text)
    return orjson.loads(text)


def loads_objects(members: list[str]) -> list[dict[str, Any]]:
    """JSON objects given by the text of their members (``"key":value,...``), parsed
    in one call; when nineteen digits in a row turn up, the objects are parsed one by
    one, so only those holding them take the standard parser."""
    found: list[dict[str, Any]] = loads_many([f"{{{text}}}" for text in members])
    return found


def loads_many(texts: list[str]) -> list[Any]:
    """Values back from many JSON texts, parsed in one call (one by one when nineteen
    digits in a row turn up, as ``loads_objects``)."""
    if not texts:
        return []
    joined = "[" + ",".join(texts) + "]"
    if not _maybe_long(joined):
        found: list[Any] = orjson.loads(joined)
        return found
    return [loads(text) for text in texts]


# JSON from a client nests at most this deep: the standard library's parser and
# writer recurse per level, orjson refuses more than 255, and no fleet document
# needs more than a handful.
MAX_DEPTH = 64


class UnstorableValue(ValueError):
    """A value parsed from a client's JSON that could never be stored or answered."""


def check_value(value: Any, max_depth: int = MAX_DEPTH, *, texts: bool = True) -> None:
    """Refuse a value nested deeper than ``max_depth`` or holding text that is not
    Unicode (a lone UTF-16 surrogate, which JSON's ``\\ud800`` escape can spell) or
    holds a NUL character (``\\u0000``):
    every later step (canonical text, the database driver, the response) would fail
    on it. Iterative, so the check itself never runs out of stack."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if texts:
                _check_text(item)
        elif isinstance(item, dict | list):
            if depth >= max_depth:
                raise UnstorableValue(f"nested deeper than {max_depth} levels")
            if isinstance(item, dict):
                if texts:
                    for key in item:
                        _check_text(key)
                stack.extend((v, depth + 1) for v in item.values())
            else:
                stack.extend((v, depth + 1) for v in item)


def _check_text(text: str) -> None:
    if "\x00" in text:  # PostgreSQL's text cannot hold one; SQLite's would cut it short
        raise UnstorableValue(f"text holds a NUL character (\\u0000) at character "
                              f"{text.index(chr(0))}")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise UnstorableValue(
            f"invalid Unicode: a lone surrogate {text[exc.start]!r} "
            f"at character {exc.start}") from None


def parse_client_json(text: str | bytes) -> Any:
    """A value from a client's JSON text, checked by ``check_value``; ``ValueError``
    (``UnstorableValue`` among them) for anything that is not acceptable JSON."""
    try:
        value = json.loads(text)
    except RecursionError:
        raise UnstorableValue(f"nested deeper than {MAX_DEPTH} levels") from None
    check_value(value, texts=_may_hold_surrogates(text))
    return value


def _may_hold_surrogates(text: str | bytes) -> bool:
    """Whether parsed JSON text can hold a lone surrogate: only a ``\\u`` escape can
    spell one in UTF-8 (the text of a body checked here is then walked; any other
    body only for its depth, a third of the time on a large one)."""
    if isinstance(text, bytes):
        return b"\\u" in text
    if "\\u" in text:
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False
