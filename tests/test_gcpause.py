"""The cyclic collector paused while the model is built: restored after, nestable, frozen on request."""

from __future__ import annotations

import gc

from nhiscan.gcpause import cyclic_gc_paused


def test_paused_inside_and_restored_after() -> None:
    assert gc.isenabled()
    with cyclic_gc_paused():
        assert not gc.isenabled()
        with cyclic_gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # an inner block leaves it to the outer one
    assert gc.isenabled()
    gc.disable()
    try:
        with cyclic_gc_paused():
            pass
        assert not gc.isenabled()  # off before, off after
    finally:
        gc.enable()


def test_restored_when_the_block_raises() -> None:
    try:
        with cyclic_gc_paused(frozen=True):
            raise ValueError("boom")
    except ValueError:
        pass
    assert gc.isenabled()
    gc.unfreeze()


def test_frozen_moves_what_was_built_out_of_the_collectors_reach() -> None:
    gc.unfreeze()
    with cyclic_gc_paused(frozen=True):
        model = [{"grant": i} for i in range(10_000)]
    try:
        assert gc.isenabled()
        assert gc.get_freeze_count() >= len(model)
        assert gc.get_count()[0] < 1_000  # no collection of the whole model is pending
        assert not any(obj is model for obj in gc.get_objects())  # never walked again
        del model  # and still freed when its last reference goes
    finally:
        gc.unfreeze()
