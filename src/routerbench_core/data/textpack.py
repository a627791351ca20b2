"""Compact storage of long texts (model answers) in the store: zstd blocks of many answers.

Why blocks: a release of 400k answers is mostly answer text, and one answer (1-3 kB) is too
short for zstd to find much to reuse inside it; compressing each alone also pays zstd's
per-frame cost 400k times. An import therefore packs the long answers of one model in one
chunk into blocks of up to :data:`BLOCK_TEXTS` answers (or :data:`BLOCK_BYTES` of text),
each one zstd frame in the ``text_blocks`` table. The answer's own column holds a 16-byte
reference (:func:`block_ref`: magic, block number, offset, length), so the outcome tables
stay narrow and a reader decompresses a block once for all the answers in it.

Stores written by rbench 0.1 (schema 3) may hold answers compressed one by one with a trained
dictionary (a zstd frame that names its dictionary, kept in ``meta`` row ``text_dict:<id>``);
:class:`TextReader` still decodes those. Short texts stay ``str``, so readers decode only
BLOBs and stores written before packing existed read unchanged.
"""

from __future__ import annotations

import base64
import struct
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from typing import Any

#: Texts shorter than this (in characters) are stored as they are.
MIN_PACK_CHARS = 96
#: zstd level of a block. On the synthetic 400k release (Zipf prose, the hardest case for
#: zstd) levels -5 to 3 all run at 150-200 MB/s on 256-answer blocks; 3 packs to 0.29 of the
#: text against 0.41 for -5 (``bench/release_scale.py`` measures the import).
LEVEL = 3
#: A block holds at most this many answers and closes once it holds this much text, so a
#: reader that wants one answer decompresses at most about a MiB.
BLOCK_TEXTS = 256
BLOCK_BYTES = 1 << 20
#: Decompressed blocks a reader keeps (bytes), so a scan in (query, model) order, which
#: visits the blocks of every model of a chunk in turn, decompresses each block once.
READ_CACHE_BYTES = 64 << 20
#: A reference to an answer in a block; the magic can never start a zstd frame
#: (``28 b5 2f fd``) or a text (texts are stored as ``str``).
REF_MAGIC = b"RBb\x01"
_REF = struct.Struct("<4sIII")
_META_PREFIX = "text_dict:"


def meta_key(dict_id: int) -> str:
    """The ``meta`` key of a schema-3 compression dictionary."""
    return f"{_META_PREFIX}{dict_id}"


def decode_dict(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"))


def block_ref(no: int, offset: int, length: int) -> bytes:
    """The stored value of an answer kept in block ``no`` at bytes ``offset:offset+length``."""
    return _REF.pack(REF_MAGIC, no, offset, length)


def read_ref(value: bytes) -> tuple[int, int, int] | None:
    """``(block, offset, length)`` of a block reference; None for any other BLOB."""
    if len(value) != _REF.size or value[:4] != REF_MAGIC:
        return None
    _, no, offset, length = _REF.unpack(value)
    return no, offset, length


class BlockPacker:
    """Packs the long answers of one import into numbered blocks (numbers start at 0 and are
    unique within the bench the import writes; the store keys blocks by bench and number)."""

    def __init__(self, level: int = LEVEL) -> None:
        import zstandard

        self._compress = zstandard.ZstdCompressor(level=level).compress
        self._next = 0

    def pack_chunk(self, rows: list[tuple[Any, ...]]) -> list[tuple[int, bytes]]:
        """Replace the long answers (column 2 of the store's response rows) in ``rows`` by
        block references and return the blocks ``(number, zstd frame)``. A block holds one
        model's answers in row order, so reading one model's answers reads its blocks only."""
        by_model: dict[int, list[int]] = {}
        for i, r in enumerate(rows):
            raw = r[2]
            if raw is not None and len(raw) >= MIN_PACK_CHARS:
                by_model.setdefault(r[1], []).append(i)
        blocks: list[tuple[int, bytes]] = []
        for positions in by_model.values():
            start = 0
            while start < len(positions):
                no = self._next
                self._next += 1
                parts: list[bytes] = []
                offset = 0
                end = start
                while end < len(positions) and end - start < BLOCK_TEXTS and offset < BLOCK_BYTES:
                    i = positions[end]
                    r = rows[i]
                    data = r[2].encode("utf-8")
                    rows[i] = (r[0], r[1], _REF.pack(REF_MAGIC, no, offset, len(data)), *r[3:])
                    parts.append(data)
                    offset += len(data)
                    end += 1
                blocks.append((no, self._compress(b"".join(parts))))
                start = end
        return blocks


def pack_responses(chunks: Iterable[Any], packer: BlockPacker) -> Iterator[Any]:
    """Pack each import chunk's answers into blocks (``chunk.blocks``). zstd runs without the
    GIL, so this stage overlaps with parsing when it runs in its own thread."""
    for chunk in chunks:
        chunk.blocks = packer.pack_chunk(chunk.responses)
        yield chunk


class TextReader:
    """Decodes stored answers: block references (``load_block(bench_id, no)`` fetches a
    block's frame) and schema-3 frames (``load_dict(id)`` fetches a dictionary).

    A reader lives for one read of the store (the store makes one per call), so its cache of
    decompressed blocks never outlives the rows it was read with: a bench deleted and a new
    one given the same id by another process cannot be served from stale blocks."""

    def __init__(self, load_dict: Callable[[int], bytes | None],
                 load_block: Callable[[int, int], bytes | None]) -> None:
        self._load_dict = load_dict
        self._load_block = load_block
        self._decoders: dict[int, Callable[[bytes], bytes]] = {}
        self._blocks: OrderedDict[tuple[int, int], bytes] = OrderedDict()
        self._cached = 0

    def unpack(self, value: str | bytes | None, bench_id: int | None) -> str | None:
        if type(value) is not bytes:
            return value  # type: ignore[return-value]
        ref = read_ref(value)
        if ref is None:
            return self._frame(value)
        if bench_id is None:
            raise ValueError("a block reference needs its bench to be read")
        no, offset, length = ref
        block = self._block(bench_id, no)
        return str(memoryview(block)[offset:offset + length], "utf-8")

    def _block(self, bench_id: int, no: int) -> bytes:
        key = (bench_id, no)
        block = self._blocks.get(key)
        if block is not None:
            self._blocks.move_to_end(key)
            return block
        frame = self._load_block(bench_id, no)
        if frame is None:
            raise ValueError(f"stored answer needs text block {no} of bench id {bench_id}, "
                             "which is missing from the store")
        block = self._decoder(0)(frame)
        self._blocks[key] = block
        self._cached += len(block)
        while self._cached > READ_CACHE_BYTES and len(self._blocks) > 1:
            _, old = self._blocks.popitem(last=False)
            self._cached -= len(old)
        return block

    def _frame(self, value: bytes) -> str:
        import zstandard

        return self._decoder(zstandard.get_frame_parameters(value).dict_id)(value).decode("utf-8")

    def _decoder(self, dict_id: int) -> Callable[[bytes], bytes]:
        decode = self._decoders.get(dict_id)
        if decode is None:
            import zstandard

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
        return decode
