"""Freed memory kept for reuse by the process, not handed back to the kernel and faulted in again.

A scan of an organization's shard inventories reads one file after another: each file's bytes,
its decoded text and the JSON parser's working buffer are a few hundred MB apiece for a shard of
50,000 identities, allocated and freed once per file. glibc's malloc serves every block above
its mapping threshold (at most 32 MiB) with a fresh ``mmap`` and unmaps it on ``free``, so each
file's buffers were page-faulted in again from zeroed pages: measured on 20 merged inventories
(benchmarks/scale.py), a million identities took 3.6 million page faults and 25.6 s of kernel
time against 0.28 million and 0.9 s for 100,000 (28x the kernel time for 10x the identities,
because a shard of 5,000 identities stays under the threshold and reuses its heap).

While the inputs are read (``reading``, around the reading loop of sources.collect),
``keep_freed_memory`` asks glibc (``mallopt``) to serve large blocks from the heap too and never
to trim it: a freed buffer is reused by the next file's. After the loop, ``release_freed_memory``
gives what is still free back to the system (``malloc_trim``) and lets glibc map blocks over 32 MiB
again, so normalization and the analysis do not carry the readers' buffers in their peak (kept
through the whole scan, they added 200 MiB to a 100,000-identity scan of one account); a cloud
export, whose parsed document is held until all inputs are read, gives them back at once
(``give_back``). Only the
``nhiscan`` command does this (cli.main calls ``allow``): a program that imports nhiscan as a
library keeps its own allocator settings. Elsewhere (macOS, musl) it does nothing.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
from collections.abc import Iterator
from typing import Any

# mallopt parameters (glibc's malloc.h)
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
M_MMAP_MAX = -4
# after reading: glibc's default count of mapped blocks, and the mapping and trim thresholds its
# dynamic threshold reaches once large blocks were freed (any mallopt call turns that off)
_DEFAULT_MMAP_MAX = 65536
_MMAP_THRESHOLD = 32 << 20
_TRIM_THRESHOLD = 64 << 20
# the largest trim threshold mallopt takes (a C int): the heap's free top is never given back
_NEVER_TRIM = 2**31 - 1

_kept = False
_allowed = False


def allow() -> None:
    """Let ``reading`` change the C library's settings: this process is the nhiscan command."""
    global _allowed
    _allowed = True


@contextlib.contextmanager
def reading() -> Iterator[None]:
    """Freed memory kept inside the block (when allowed), given back after it."""
    kept = _allowed and keep_freed_memory()
    try:
        yield
    finally:
        if kept:
            release_freed_memory()


def _glibc() -> bool:
    try:
        return os.confstr("CS_GNU_LIBC_VERSION").startswith("glibc ")  # type: ignore[union-attr]
    except (ValueError, OSError, AttributeError):  # not a GNU C library
        return False


def keep_freed_memory() -> bool:
    """Large blocks from glibc's heap, the heap never trimmed; whether the C library took it."""
    global _kept
    if not sys.platform.startswith("linux") or not _glibc():
        return False
    libc = _libc()
    # mallopt returns 1 on success, 0 on error
    _kept = libc is not None and bool(libc.mallopt(M_MMAP_MAX, 0))
    _kept = _kept and bool(libc.mallopt(M_TRIM_THRESHOLD, _NEVER_TRIM))
    return _kept


def give_back() -> None:
    """Inside ``reading``: what is free now back to the system, the settings kept. For a file whose
    parsed document is held until every input is read (a cloud export): no file after it reuses
    its buffers while the document holds memory too."""
    if _kept and (libc := _libc()) is not None:
        libc.malloc_trim(0)


def release_freed_memory() -> bool:
    """After ``keep_freed_memory``: the free memory back to the system, blocks over 32 MiB mapped
    again; whether anything was done."""
    global _kept
    libc = _libc() if _kept else None
    if libc is None:
        return False
    _kept = False
    libc.mallopt(M_MMAP_THRESHOLD, _MMAP_THRESHOLD)
    libc.mallopt(M_TRIM_THRESHOLD, _TRIM_THRESHOLD)
    libc.mallopt(M_MMAP_MAX, _DEFAULT_MMAP_MAX)
    libc.malloc_trim(0)
    return True


@functools.cache  # loaded and typed once: give_back runs after every cloud export read
def _libc() -> Any:
    try:
        import ctypes

        libc = ctypes.CDLL(None)  # the C library this interpreter runs on
        libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
        libc.mallopt.restype = ctypes.c_int
        libc.malloc_trim.argtypes = [ctypes.c_size_t]
        libc.malloc_trim.restype = ctypes.c_int
    except (OSError, AttributeError):  # pragma: no cover - glibc always has both
        return None
    return libc
