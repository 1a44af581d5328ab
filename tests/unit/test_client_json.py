"""A client's JSON: refused when nested too deep or holding a lone surrogate, however
it arrives."""

from __future__ import annotations

import pytest

from craton.codec import MAX_DEPTH, UnstorableValue, parse_client_json


@pytest.mark.parametrize("text", [
    '{"name": "\\ud800"}',  # an escape, as a client sends it
    b'{"name": "\\udfff"}',  # the same, as bytes
    '{"\\ud800": 1}',  # in a key
    '{"name": "\ud800"}',  # a lone surrogate already in the text itself
])
def test_a_lone_surrogate_is_refused_however_it_is_spelled(text: str | bytes) -> None:
    with pytest.raises(UnstorableValue, match="lone surrogate"):
        parse_client_json(text)


def test_text_without_escapes_is_checked_for_depth_only() -> None:
    assert parse_client_json('{"name": "caf\u00e9 \\u00e9"}') == {"name": "café é"}
    deep = "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1)
    with pytest.raises(UnstorableValue, match="nested deeper"):
        parse_client_json(deep)
    assert parse_client_json("[" * MAX_DEPTH + "]" * MAX_DEPTH) is not None


@pytest.mark.parametrize("text", ['{"name": "a\\u0000b"}', b'{"\\u0000": 1}',
                                  '{"k": ["x", {"y": "\\u0000"}]}'])
def test_a_nul_character_is_refused_wherever_it_is(text: str | bytes) -> None:
    with pytest.raises(UnstorableValue, match="NUL character"):
        parse_client_json(text)
