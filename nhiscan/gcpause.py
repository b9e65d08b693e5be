"""Pausing Python's cyclic garbage collector while large acyclic models are built or analysed.

A scan of an organization holds millions of small, long-lived containers (identities, grants,
credentials, findings). Each burst of allocations makes the cyclic collector walk every live
object that survived earlier collections; with a million identities those walks, not the work,
were what grew faster than the estate. Nothing nhiscan builds forms reference cycles that need
the collector (reference counting frees it all), so the model is built with the collector paused
and the previous state restored on the way out; ``frozen`` also moves what exists at that point
to the permanent generation, so later collections never walk it again.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """The cyclic collector off inside the block, as it was before after it (nestable)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def freeze_survivors() -> None:
    """Move every object alive now to the permanent generation: the model read so far is never
    walked by a collection again (``gc.freeze``). Objects freed later are still freed (reference
    counting); only what forms a cycle among them would stay until exit, and nhiscan's do not."""
    gc.freeze()
