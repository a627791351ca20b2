"""The MiniLM embedder pins glibc's mmap threshold: freed large blocks leave the process.

Checked for real in child processes: after an 8 MiB block is freed glibc serves 5 MiB blocks
from the heap, which keeps their memory resident once they are freed; with the threshold
pinned (4 MiB) they are mapped apart and unmapped as they are freed.
"""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(
    platform.system() != "Linux" or platform.libc_ver()[0] != "glibc",
    reason="the mmap threshold is a glibc setting",
)

CHILD = r"""
import sys
from routerbench_core.embedding.sentence_transformers import pin_mmap_threshold

def rss_mib():
    return int(open("/proc/self/statm").read().split()[1]) * 4096 / 2**20

if sys.argv[1] == "pin":
    assert pin_mmap_threshold() is True
    assert pin_mmap_threshold() is True  # once is enough; a second call changes nothing
big = b"x" * (8 << 20)
del big  # unpinned, glibc now raises its threshold above 8 MiB
blocks = [b"y" * (5 << 20) for _ in range(20)]
keep = b"z" * (600 << 10)  # on the heap above them: its top cannot be trimmed
before = rss_mib()
del blocks
print(round(before - rss_mib()))
"""


def _released(mode: str) -> int:
    out = subprocess.run([sys.executable, "-c", CHILD, mode], capture_output=True, text=True,
                         check=True)
    return int(out.stdout.split()[-1])


def test_pinned_threshold_returns_freed_blocks_and_unpinned_keeps_them() -> None:
    assert _released("pin") >= 90  # of the 100 MiB freed
    assert _released("none") <= 10
