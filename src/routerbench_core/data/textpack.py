"""Compact storage of long texts (model answers) in the store: zstd blocks of many answers.

Why blocks: a release of 400k answers is mostly answer text, and one answer (1-3 kB) is too
short for zstd to find much to reuse inside it; compressing each alone also pays zstd's
per-frame cost 400k times. An import therefore packs the long answers of one model's run
file (:meth:`BlockPacker.add`, as a parse worker reads them) or of one model in a chunk
(:func:`pack_responses`) into blocks of up to :data:`BLOCK_TEXTS` answers (or
:data:`BLOCK_BYTES` of text),
each one zstd frame in the ``text_blocks`` table. The answer's own column holds a 20-byte
reference (magic, block number, offset, length; :meth:`BlockPacker.add` writes it,
:func:`read_ref` reads it), so the outcome tables
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
#: zstd level of a block, chosen on real answers: the 4,696 model answers of the RouterBench
#: subset in ``../shared/data`` in blocks of 256, level -10 / -1 / 1 / 3 pack to 0.375 / 0.277
#: / 0.245 / 0.230 of their size at 243 / 196 / 219 / 178 MB/s. (On the synthetic release of
#: ``bench/release_scale.py``, random words, the hardest case for zstd, level 1 packs to 0.31
#: at 150-165 MB/s.)
LEVEL = 1
#: A block holds at most this many answers and closes once it holds this much text, so a
#: reader that wants one answer decompresses at most about a MiB.
BLOCK_TEXTS = 256
BLOCK_BYTES = 1 << 20
#: Decompressed blocks a reader keeps (bytes), so a scan in (query, model) order, which
#: visits the blocks of every model of a chunk in turn, decompresses each block once.
READ_CACHE_BYTES = 64 << 20
#: A reference to an answer in a block: magic, block number (64-bit: a parallel import
#: numbers each dataset split's blocks from ``split << 32``), byte offset, byte length. The
#: magic can never start a zstd frame (``28 b5 2f fd``) or a text (texts are stored as ``str``).
REF_MAGIC = b"RBb\x01"
_REF = struct.Struct("<4sQII")
_META_PREFIX = "text_dict:"


def meta_key(dict_id: int) -> str:
    """The ``meta`` key of a schema-3 compression dictionary."""
    return f"{_META_PREFIX}{dict_id}"


def decode_dict(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"))


def read_ref(value: bytes) -> tuple[int, int, int] | None:
    """``(block, offset, length)`` of a block reference; None for any other BLOB."""
    if len(value) != _REF.size or value[:4] != REF_MAGIC:
        return None
    _, no, offset, length = _REF.unpack(value)
    return no, offset, length


class BlockPacker:
    """Packs the long answers of one import into numbered blocks (numbers count up from
    ``first`` and must be unique within the bench the import writes: the store keys blocks by
    bench and number)."""

    def __init__(self, level: int = LEVEL, first: int = 0) -> None:
        import zstandard

        self._compress = zstandard.ZstdCompressor(level=level).compress
        self._next = first
        self._parts: list[bytes] = []
        self._size = 0
        self._done: list[tuple[int, bytes]] = []

    def add(self, text: str) -> bytes | str:
        """The stored value of one long answer, added to the open block (a parser packs as
        it reads, one model's file at a time, and calls :meth:`finish` after each file).
        Text that is not valid Unicode is returned as it is: the store's write names it."""
        try:
            data = text.encode("utf-8")
        except UnicodeEncodeError:
            return text
        if len(self._parts) >= BLOCK_TEXTS or self._size >= BLOCK_BYTES:
            self._close()
        ref = _REF.pack(REF_MAGIC, self._next, self._size, len(data))
        self._parts.append(data)
        self._size += len(data)
        return ref

    def finish(self) -> list[tuple[int, bytes]]:
        """Close the open block; the blocks made since the last call."""
        self._close()
        done, self._done = self._done, []
        return done

    def _close(self) -> None:
        if self._parts:
            self._done.append((self._next, _exact(self._compress(b"".join(self._parts)))))
            self._next += 1
            self._parts, self._size = [], 0

    def pack_chunk(self, rows: list[tuple[Any, ...]]) -> list[tuple[int, bytes]]:
        """Replace the long answers (column 2 of the store's response rows) in ``rows`` by
        block references and return the blocks ``(number, zstd frame)``. A block holds one
        model's answers in row order, so reading one model's answers reads its blocks only."""
        by_model: dict[int, list[int]] = {}
        for i, r in enumerate(rows):
            raw = r[2]
            if type(raw) is str and len(raw) >= MIN_PACK_CHARS:
                by_model.setdefault(r[1], []).append(i)
        blocks: list[tuple[int, bytes]] = []
        for positions in by_model.values():
            for i in positions:
                r = rows[i]
                rows[i] = (r[0], r[1], self.add(r[2]), *r[3:])
            blocks += self.finish()
        return blocks

def _exact(frame: bytes) -> bytes:
    """A copy of a zstd frame that holds only its bytes. ``ZstdCompressor.compress`` returns
    a bytes object sized for the worst case (about the input's size): kept as it is, a
    split's blocks held 60 MiB for 21 MiB of frames."""
    return bytes(memoryview(frame))


def pack_responses(chunks: Iterable[Any], packer: BlockPacker) -> Iterator[Any]:
    """Pack each import chunk's answers into blocks (added to ``chunk.blocks``; a parse
    worker's chunks, packed already, pass untouched). zstd runs without the GIL, so this stage
    overlaps with parsing when it runs in its own thread."""
    for chunk in chunks:
        if not chunk.final:
            chunk.blocks += packer.pack_chunk(chunk.responses)
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
