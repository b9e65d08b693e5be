"""Freed memory kept by the process: a second large buffer reuses the first one's pages."""

from __future__ import annotations

import subprocess
import sys

import pytest

from nhiscan.heapkeep import _glibc

# Allocates a 64 MiB buffer (written in full), frees it, and counts the page faults of a second one.
PROBE = """
import resource, sys
from nhiscan.heapkeep import keep_freed_memory
took = keep_freed_memory() if sys.argv[1] == "keep" else None
size = 64 << 20
first = b"x" * size
del first
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
second = b"y" * size
print(took, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _faults(mode: str) -> tuple[str, int]:
    out = subprocess.run(
        [sys.executable, "-c", PROBE, mode], capture_output=True, text=True, check=True, timeout=60
    ).stdout.split()
    return out[0], int(out[1])


@pytest.mark.skipif(not sys.platform.startswith("linux") or not _glibc(), reason="glibc's mallopt")
def test_a_freed_large_buffer_is_reused_without_page_faults() -> None:
    pages = (64 << 20) // 4096
    took, faults = _faults("keep")
    assert took == "True"
    assert faults < pages // 10  # the freed buffer's pages, already mapped
    took, faults = _faults("default")
    assert took == "None"
    assert faults > pages // 2  # by default the buffer is unmapped on free and faulted in again


# Inside ``reading`` (allowed, as the nhiscan command allows it) a freed buffer is reused; after the
# block the free memory is given back: resident memory drops again.
READING = """
import resource, sys
from nhiscan import heapkeep
def rss():
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * 4096
if sys.argv[1] == "allowed":
    heapkeep.allow()
size = 64 << 20
with heapkeep.reading():
    first = b"x" * size
    del first
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    second = b"y" * size
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
    del second
    held = rss()
print(faults, held - rss())
"""


def _reading(mode: str) -> tuple[int, int]:
    out = subprocess.run(
        [sys.executable, "-c", READING, mode], capture_output=True, text=True, check=True, timeout=60
    ).stdout.split()
    return int(out[0]), int(out[1])


@pytest.mark.skipif(not sys.platform.startswith("linux") or not _glibc(), reason="glibc's mallopt")
def test_reading_keeps_freed_memory_and_gives_it_back_after() -> None:
    pages = (64 << 20) // 4096
    faults, given_back = _reading("allowed")
    assert faults < pages // 10
    assert given_back > (32 << 20)  # the freed buffer left resident memory after the block
    faults, _ = _reading("library")  # not the nhiscan command: the C library left as it is
    assert faults > pages // 2


def test_elsewhere_it_does_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    from nhiscan import heapkeep

    monkeypatch.setattr(heapkeep.sys, "platform", "darwin")
    assert heapkeep.keep_freed_memory() is False
