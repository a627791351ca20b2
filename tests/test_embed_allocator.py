"""The MiniLM embedder gives freed heap memory back after each batch; checked for real in
child processes.

After a 24 MiB block is freed, glibc serves 20 MiB blocks from the heap; freed, they stay
resident (a small block above them keeps the heap's top from shrinking), until
``release_free_memory`` (``malloc_trim``) gives their pages back.
"""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(
    platform.system() != "Linux" or platform.libc_ver()[0] != "glibc",
    reason="malloc_trim is glibc's",
)

CHILD = r"""
import sys
from routerbench_core import processes

def rss_mib():
    return int(open("/proc/self/statm").read().split()[1]) * 4096 / 2**20

big = b"x" * (24 << 20)
del big  # glibc now raises its mmap threshold above 24 MiB
blocks = [b"y" * (20 << 20) for _ in range(5)]
keep = b"z" * (600 << 10)  # on the heap above them: its top cannot be trimmed
before = rss_mib()
del blocks
if sys.argv[1] == "trim":
    processes.release_free_memory()
print(round(before - rss_mib()))
"""


def _released(mode: str) -> int:
    out = subprocess.run([sys.executable, "-c", CHILD, mode], capture_output=True, text=True,
                         check=True)
    return int(out.stdout.split()[-1])


def test_freed_blocks_stay_resident_until_trimmed() -> None:
    assert _released("none") <= 10  # of the 100 MiB freed
    assert _released("trim") >= 90
