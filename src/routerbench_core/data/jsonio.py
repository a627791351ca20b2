"""JSON on the wire: request and answer bodies of the OpenAI-compatible backends and server
(in ``data/``, the first stage that needs it, so every later one may use it).

Why not the standard library: per request, encoding the body and decoding the answer with
``json`` cost the serving path more than routing did. msgspec decodes and orjson encodes the
same values several times faster; what they refuse (escaped lone surrogates, which buggy
servers and clients send, and text holding them) goes to the standard library, so nothing
that worked before is refused now.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any


@functools.cache
def fast_decoder() -> tuple[Callable[[bytes | str], Any], tuple[type[Exception], ...]]:
    """msgspec's JSON decoder (made once) and the exceptions it refuses a document with; the
    callers decide where a refused document goes next."""
    import msgspec

    return msgspec.json.Decoder().decode, (msgspec.DecodeError, UnicodeDecodeError)


def json_loads(raw: bytes | str) -> Any:
    """Parse a JSON document; malformed input raises ``ValueError`` (``json.JSONDecodeError``,
    or ``UnicodeDecodeError`` for bytes that are not UTF-8), as ``json.loads`` does. Numbers
    come back as the standard library gives them (integers exact)."""
    decode, refused = fast_decoder()
    try:
        return decode(raw)
    except refused:
        return json.loads(raw)


def json_dumps(value: Any) -> bytes:
    """A JSON document as UTF-8 bytes (orjson; the standard library for what orjson cannot
    encode: lone surrogates, which it writes as ``\\udcff`` escapes, non-string keys, integers
    beyond 64 bits)."""
    import orjson

    try:
        return orjson.dumps(value)
    except TypeError:
        return json.dumps(value).encode()
