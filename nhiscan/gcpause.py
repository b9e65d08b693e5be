"""Pausing Python's cyclic garbage collector while large acyclic models are built and analysed.

A scan of an organization holds tens of millions of small, long-lived containers (parsed exports,
identities, grants, credentials, findings). With the collector on, each burst of allocations
makes it walk what survived earlier bursts, again and again: measured on 20 merged shard
inventories (benchmarks/scale.py), its walks took 9% of a 100,000-identity scan and 13% of a
300,000-identity one, growing faster than the estate. Nothing nhiscan builds needs the collector
(reference counting frees it all), so the model is built with it paused.

``frozen=True`` also moves everything alive at the end of the block into the permanent
generation (``gc.freeze``) before the collector is switched back on: re-enabled, it would
otherwise walk the whole model at the next allocation, and again at each older-generation
collection while the result is written. Frozen objects are still freed when their last
reference goes; only a reference cycle among them would stay until the process exits.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def cyclic_gc_paused(*, frozen: bool = False) -> Iterator[None]:
    """The cyclic collector off inside the block and as it was after it (nestable: an inner
    block leaves it off); ``frozen``: what the block built is never walked by it again."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if frozen:
            gc.freeze()
        if was_enabled:
            gc.enable()
