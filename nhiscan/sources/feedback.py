"""Feedback on long work: a rich progress display on a terminal, quiet in CI, warnings always.

Shared by every live collector (AWS, GCP, Azure, Kubernetes: accounts done), by reading inputs
(files read, identities so far) and by the analysis (rules done, findings so far), each with the
time left; imports rich only when enabled (``ScanConfig.progress``: stderr is a terminal).
"""

from __future__ import annotations

import sys
import threading
from types import TracebackType
from typing import Any

from nhiscan.display import printable


class Feedback:
    """A rich progress display on stderr when enabled (TTY). Warnings are one stderr line each; inside
    the ``with`` block they are gathered, so one message from many accounts is one line."""

    def __init__(self, enabled: bool) -> None:
        self._lock = threading.Lock()
        self._progress: Any = None
        self._held: dict[str, list[str]] | None = None
        if enabled:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                SpinnerColumn,
                TextColumn,
                TimeRemainingColumn,
            )

            self._progress = Progress(
                SpinnerColumn(),
                TextColumn("{task.description}", markup=False),  # descriptions name accounts: data
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                console=Console(stderr=True),
                transient=True,
            )

    def __enter__(self) -> Feedback:
        self._held = {}
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._progress is not None:
            self._progress.stop()
        held, self._held = self._held or {}, None
        for message, sources in held.items():
            first = sorted(sources)[0]
            more = f" (and {len(sources) - 1} more accounts)" if len(sources) > 1 else ""
            self._print(f"nhiscan: warning: {first}{more}: {message}")

    def task(self, description: str, total: int | None = None) -> int | None:
        if self._progress is None:
            return None
        with self._lock:
            task_id: int = self._progress.add_task(printable(description), total=total)
            return task_id

    def update(
        self, task: int | None, *, description: str | None = None, total: int | None = None, advance: int = 0
    ) -> None:
        if self._progress is None or task is None:
            return
        with self._lock:
            kwargs: dict[str, Any] = {"advance": advance}
            if description is not None:
                kwargs["description"] = printable(description)
            if total is not None:
                kwargs["total"] = total
            self._progress.update(task, **kwargs)

    def done(self, task: int | None) -> None:
        if self._progress is None or task is None:
            return
        with self._lock:
            self._progress.remove_task(task)

    def warn(self, source: str, message: str) -> None:
        with self._lock:
            if self._held is not None:
                self._held.setdefault(message, []).append(source)
                return
        self._print(f"nhiscan: warning: {source}: {message}")

    def _print(self, line: str) -> None:
        with self._lock:
            sys.stderr.write(printable(line) + "\n")
            sys.stderr.flush()
