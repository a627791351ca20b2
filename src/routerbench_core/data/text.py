"""Text that cannot be stored as UTF-8, made storable without losing it.

A model server can send bytes that are not UTF-8 (the OpenAI backend decodes them to lone
surrogates with ``surrogateescape``) or JSON with lone-surrogate escapes (``"\\udcff"``). SQLite
and JSON need valid UTF-8, so the store replaces each such character with U+FFFD and keeps the
exact original beside it, in the response's ``metadata["invalid_text"]``: one bad answer never
stops a run, and nothing of it is lost.
"""

from __future__ import annotations

import base64
import re
from typing import Any

from routerbench_core.schema import Response

_SURROGATE = re.compile("[\ud800-\udfff]")


def is_clean(text: str) -> bool:
    return text.isascii() or _SURROGATE.search(text) is None


def _original(text: str) -> dict[str, Any]:
    """The exact text, losslessly: as the server's bytes when every bad character stands for
    an undecodable byte (``surrogateescape``), else with the surrogates encoded as they are
    (``surrogatepass``); decode ``original`` with ``errors`` to get the string back."""
    for errors in ("surrogateescape", "surrogatepass"):
        try:
            raw = text.encode("utf-8", errors)
        except UnicodeEncodeError:
            continue
        return {"errors": errors, "original": base64.b64encode(raw).decode("ascii"),
                "replaced": len(_SURROGATE.findall(text))}
    raise AssertionError("surrogatepass encodes every str")  # pragma: no cover


def _clean_value(value: Any) -> Any:
    if isinstance(value, str):
        return value if is_clean(value) else _SURROGATE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {_clean_value(k): _clean_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean_value(v) for v in value]
    return value


def clean_text(r: Response) -> Response:
    """``r`` with text that cannot be stored as UTF-8 (lone surrogates: undecodable bytes from
    the server, or bad escapes in its JSON) replaced by U+FFFD, and the exact original of each
    replaced field kept in ``metadata["invalid_text"]``. A clean response is returned as is."""
    fields = {name: getattr(r, name) for name in ("raw_output", "error")}
    bad = {name: text for name, text in fields.items() if text is not None and not is_clean(text)}
    meta_clean = _clean_value(r.metadata)
    if not bad and meta_clean == r.metadata:
        return r
    notes = {name: _original(text) for name, text in bad.items()}
    if meta_clean != r.metadata:
        notes["metadata"] = {"note": "invalid text in metadata replaced with U+FFFD"}
    update: dict[str, Any] = {name: _SURROGATE.sub("\ufffd", text) for name, text in bad.items()}
    update["metadata"] = {**meta_clean, "invalid_text": notes}
    return r.model_copy(update=update)


def invalid_text_note(r: Response) -> str:
    """One line for the run report when ``r`` had invalid text, else ''."""
    notes = r.metadata.get("invalid_text") if isinstance(r.metadata, dict) else None
    if not notes and any(t is not None and not is_clean(t) for t in (r.raw_output, r.error)):
        notes = clean_text(r).metadata["invalid_text"]
    if not notes:
        return ""
    return "; ".join(f"{name}: {n.get('replaced', '?')} character(s) replaced"
                     for name, n in notes.items())


