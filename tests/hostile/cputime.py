"""CPU time of the scans a test runs: the machine running the suite may be shared and busy, so a
time bound on the tool is checked against the CPU seconds its process used (user + system, its
worker processes included), while the harness's timeout bounds the wall time."""

from __future__ import annotations

import resource
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def cpu_seconds(run: Callable[[], T]) -> tuple[T, float]:
    """run()'s result and the CPU seconds used by the child processes it ran and waited for."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = run()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    used = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return result, used
