"""Freed memory kept for reuse by the process, not handed back to the kernel and faulted in again.

A scan of an organization's shard inventories reads one file after another: each file's bytes,
its decoded text and the JSON parser's working buffer are a few hundred MB apiece for a shard of
50,000 identities, allocated and freed once per file. glibc's malloc serves every block above
its mapping threshold (at most 32 MiB) with a fresh ``mmap`` and unmaps it on ``free``, so each
file's buffers were page-faulted in again from zeroed pages: measured on 20 merged inventories
(benchmarks/scale.py), a million identities took 3.6 million page faults and 25.6 s of kernel
time against 0.28 million and 0.9 s for 100,000 (28x the kernel time for 10x the identities,
because a shard of 5,000 identities stays under the threshold and reuses its heap).

``keep_freed_memory`` asks glibc (``mallopt``) to serve large blocks from the heap too and never to
trim it: a freed buffer is reused by the next file's. The peak is what the largest file needs at
once; what was freed is still free for the process to reuse and goes back to the system when the
command exits. Only the ``nhiscan`` command calls it (cli.main): a program that imports nhiscan
as a library keeps its own allocator settings. Elsewhere (macOS, musl) it does nothing.
"""

from __future__ import annotations

import os
import sys

# mallopt parameters (glibc's malloc.h)
M_TRIM_THRESHOLD = -1
M_MMAP_MAX = -4
# the largest trim threshold mallopt takes (a C int): the heap's free top is never given back
_NEVER_TRIM = 2**31 - 1


def _glibc() -> bool:
    try:
        return os.confstr("CS_GNU_LIBC_VERSION").startswith("glibc ")  # type: ignore[union-attr]
    except (ValueError, OSError, AttributeError):  # not a GNU C library
        return False


def keep_freed_memory() -> bool:
    """Large blocks from glibc's heap, the heap never trimmed; whether the C library took it."""
    if not sys.platform.startswith("linux") or not _glibc():
        return False
    try:
        import ctypes

        mallopt = ctypes.CDLL(None).mallopt  # the C library this interpreter runs on
    except (OSError, AttributeError):  # pragma: no cover - glibc always has it
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    # mallopt returns 1 on success, 0 on error
    return bool(mallopt(M_MMAP_MAX, 0)) and bool(mallopt(M_TRIM_THRESHOLD, _NEVER_TRIM))
