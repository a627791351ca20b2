"""The wire JSON helpers: fast paths give what the standard library gives, and what msgspec or
orjson refuse goes to the standard library instead of failing."""

from __future__ import annotations

import json

import pytest

from routerbench_core import json_dumps, json_loads


@pytest.mark.parametrize("doc", [
    b'{"a": [1, 2.5, "x", null, true], "b": {"c": "\\u00e9t\\u00e9"}}',
    b'123456789012345678901234567890',  # beyond 64 bits: exact, as the standard library
    b'"\\udcff tail"',  # an escaped lone surrogate: msgspec and orjson refuse it
    '{"k": "été"}'.encode(),
])
def test_loads_gives_what_the_standard_library_gives(doc: bytes) -> None:
    assert json_loads(doc) == json.loads(doc)
    assert json_loads(doc.decode("utf-8")) == json.loads(doc.decode("utf-8"))


@pytest.mark.parametrize("bad", [b'{"a": 1,}', b"NaN-ish", b'{"a": "\xff"}', b""])
def test_malformed_input_is_a_value_error(bad: bytes) -> None:
    with pytest.raises(ValueError):
        json_loads(bad)


@pytest.mark.parametrize("value", [
    {"model": "m", "messages": [{"role": "user", "content": "été ✓"}], "temperature": 0.2},
    {"text": "lone \udcff surrogate"},  # orjson cannot encode it: the standard library does
    {1: "non-string key"},
    {"big": 1 << 70},
])
def test_dumps_reads_back_as_the_value(value: object) -> None:
    out = json_dumps(value)
    assert isinstance(out, bytes)
    assert json.loads(out) == json.loads(json.dumps(value))
