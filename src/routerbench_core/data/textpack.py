"""Compact storage of long texts (model answers) in the store: zstd with a trained dictionary.

Why: a release of 400k answers is mostly answer text, and each answer is short (1-3 kB), too
short for zstd to find much to reuse inside it alone. A dictionary trained on a few thousand
answers of the same import gives zstd that shared vocabulary: on LLM answers it shrinks them
several-fold *and* compresses faster than plain zstd on one small text (it needs no large
window). The dictionary is kept in the store (``meta`` row ``text_dict:<id>``) and every
compressed value names its dictionary in its zstd frame header, so any reader can decode it.

A packed value is ``bytes`` (SQLite stores it as a BLOB in the TEXT column); short texts stay
``str``. Readers call :func:`unpack` through the store, which sees the type and decodes only
BLOBs, so stores written before packing existed read unchanged.
"""

from __future__ import annotations

import base64
import random
from collections.abc import Callable, Iterable, Iterator
from typing import Any

#: Texts shorter than this (in characters) are stored as they are.
MIN_PACK_CHARS = 96
#: zstd level used with a dictionary (level 3 with a dictionary is faster than level 1 without).
LEVEL = 3
DICT_BYTES = 32_768
#: How many texts of the import train the dictionary. Training time grows with the samples
#: (0.67 s for 4,000 answers, 0.16 s for 1,000) and the dictionary hardly improves: on the
#: 4,696 model answers of the bundled RouterBench subset, 4,000 samples pack them to 0.285 of
#: their size, 1,000 to 0.289.
TRAIN_SAMPLES = 1_000
_META_PREFIX = "text_dict:"


def meta_key(dict_id: int) -> str:
    return f"{_META_PREFIX}{dict_id}"


def encode_dict(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def decode_dict(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"))


class TextPacker:
    """Compresses the long texts of one import. Call :meth:`prepare` once with sample texts
    (the first run file's answers), then :meth:`pack` per text.

    ``taken`` are dictionary ids already in the store: a new dictionary gets a fresh id so a
    frame can never be decoded with the wrong one.
    """

    def __init__(self, taken: Iterable[int] = ()) -> None:
        self._taken = set(taken)
        self._compress: Callable[[bytes], bytes] | None = None
        self.dict_id = 0
        self.dict_data: bytes | None = None
        self.saved = False

    @property
    def ready(self) -> bool:
        return self._compress is not None

    def prepare(self, samples: list[str]) -> None:
        import zstandard

        encoded = [s.encode("utf-8") for s in samples if len(s) >= MIN_PACK_CHARS]
        encoded = encoded[:TRAIN_SAMPLES]
        dictionary = None
        if len(encoded) >= 64 and sum(map(len, encoded)) >= 8 * DICT_BYTES:
            dict_id = random.Random().randrange(1 << 16, 1 << 31)
            while dict_id in self._taken:
                dict_id = random.Random().randrange(1 << 16, 1 << 31)
            try:
                dictionary = zstandard.train_dictionary(DICT_BYTES, encoded, dict_id=dict_id,
                                                        level=LEVEL)
            except zstandard.ZstdError:
                dictionary = None  # too little material: plain zstd below
        if dictionary is not None:
            self.dict_id = dictionary.dict_id()
            self.dict_data = dictionary.as_bytes()
            self._compress = zstandard.ZstdCompressor(level=LEVEL, dict_data=dictionary).compress
        else:
            self._compress = zstandard.ZstdCompressor(level=1).compress

    def pack(self, text: str | None) -> str | bytes | None:
        if text is None or len(text) < MIN_PACK_CHARS:
            return text
        if self._compress is None:
            raise RuntimeError("TextPacker.pack called before prepare")
        return self._compress(text.encode("utf-8"))


class TextUnpacker:
    """Decodes packed values; ``load_dict(id)`` fetches a dictionary's bytes from the store."""

    def __init__(self, load_dict: Callable[[int], bytes | None]) -> None:
        self._load_dict = load_dict
        self._decoders: dict[int, Callable[[bytes], bytes]] = {}

    def unpack(self, value: str | bytes | None) -> str | None:
        if type(value) is not bytes:
            return value  # type: ignore[return-value]
        import zstandard

        dict_id = zstandard.get_frame_parameters(value).dict_id
        decode = self._decoders.get(dict_id)
        if decode is None:
            if dict_id:
                data = self._load_dict(dict_id)
                if data is None:
                    raise ValueError(f"stored text needs compression dictionary {dict_id}, "
                                     "which is missing from the store")
                decoder = zstandard.ZstdDecompressor(
                    dict_data=zstandard.ZstdCompressionDict(data))
            else:
                decoder = zstandard.ZstdDecompressor()
            decode = decoder.decompress
            self._decoders[dict_id] = decode
        return decode(value).decode("utf-8")


def pack_responses(chunks: Iterable[Any], packer: TextPacker) -> Iterator[Any]:
    """Pack the answers (column 2 of the store's response rows) of each import chunk; the
    packer is prepared on the first chunk's answers. zstd runs without the GIL, so this
    stage overlaps with parsing when it runs in its own thread."""
    for chunk in chunks:
        rows = chunk.responses
        if not packer.ready:
            packer.prepare([r[2] for r in rows[:TRAIN_SAMPLES] if type(r[2]) is str])
        pack = packer.pack
        for i, r in enumerate(rows):
            raw = r[2]
            if raw is not None and len(raw) >= MIN_PACK_CHARS:
                rows[i] = (r[0], r[1], pack(raw), *r[3:])
        yield chunk
