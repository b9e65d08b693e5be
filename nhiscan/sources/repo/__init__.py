"""Repository scanning: secrets (detect-secrets engine, see engine.py), CI and agent configs.

``scan_paths(config)`` walks each PATH (walker.py), scans every text file for secrets and hands
CI/agent configuration files to ``configs``; with ``config.history`` it also scans the lines
every commit added (history.py, history_scan.py), streamed from a git log started before the
work-tree scan. When there is enough to do, files are scanned by this process and a pool of
worker processes together (one process per core in all); each worker configures detect-secrets
once for its lifetime.
"""

from __future__ import annotations

import collections
import os
import stat
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from nhiscan import secret_ids
from nhiscan.config import ScanConfig
from nhiscan.display import printable
from nhiscan.errors import InputError
from nhiscan.model import Observation, Secret, SourceError, SourceRef
from nhiscan.sources.documents import ProviderResult
from nhiscan.sources.repo import configs, gha_identity
from nhiscan.sources.repo.naming import repository_names
from nhiscan.sources.repo.own_outputs import nhiscan_output
from nhiscan.sources.repo.walker import (
    MAX_FILE_BYTES,
    OutsideTree,
    decode_text,
    git_head,
    list_files,
    read_inside,
    skip_reason,
)

if TYPE_CHECKING:  # the pool's modules (multiprocessing) load only when a scan needs workers
    from concurrent.futures import Future, ProcessPoolExecutor

    from nhiscan.sources.repo.history_scan import HistoryStart

# Below this much text, starting worker processes costs more than it saves.
PARALLEL_MIN_BYTES = 4 * 1024 * 1024
BATCH_BYTES = 512 * 1024


@dataclass(frozen=True)
class Job:
    """One text to scan: a work-tree file (data None: read it) or a history blob."""

    root: str
    rel: str
    repository: str
    commit: str | None = None
    repository_name: str = ""
    data: bytes | None = None
    size: int = 0
    source: str = ""  # what an error names (default: repository/rel; a file PATH names itself)
    # A history change (history.FileChange): its commit's author date, and where each run of its
    # added lines sits in the file (text line starts[i] is file line lines[i]).
    author_date: datetime | None = None
    starts: tuple[int, ...] = ()
    lines: tuple[int, ...] = ()


@dataclass
class BatchResult:
    secrets: list[Secret] = field(default_factory=list)
    suppressed: list[Secret] = field(default_factory=list)
    observations: list[Observation] = field(default_factory=list)
    errors: list[SourceError] = field(default_factory=list)
    nhiscan_files: list[str] = field(default_factory=list)  # nhiscan's own outputs (scanned too)
    links_out: list[str] = field(default_factory=list)  # found leading outside the tree when opened
    files: int = 0
    bytes: int = 0


# -- worker side ----------------------------------------------------------------------------------
_WORKER: dict[str, object] = {}


def _worker_init(parent: int, run_key: bytes) -> None:
    from nhiscan import secret_ids
    from nhiscan.lifecycle import worker_started

    worker_started(parent)  # first: dies with the main process, leaves Ctrl-C to it
    from nhiscan.sources.repo.deferred_imports import requests_deferred

    with requests_deferred():  # detect-secrets' plugins without `requests` until one needs it
        from nhiscan.sources.repo.engine import process_scanner

        # One run, one key: equal secrets get equal run ids whichever process found them.
        secret_ids.set_run_key(run_key)
        _WORKER["scanner"] = process_scanner()


def _worker_scan(jobs: Sequence[Job], keep_suppressed: bool) -> BatchResult:
    from nhiscan.sources.repo.engine import Scanner

    scanner = _WORKER["scanner"]
    assert isinstance(scanner, Scanner)
    return scan_jobs(scanner, jobs, keep_suppressed)


def scan_jobs(scanner: object, jobs: Sequence[Job], keep_suppressed: bool = False) -> BatchResult:
    from nhiscan.sources.repo.engine import Scanner
    from nhiscan.sources.repo.secrets import to_secrets

    assert isinstance(scanner, Scanner)
    res = BatchResult()
    if jobs and jobs[0].commit is not None:  # git history changes (history_scan.py)
        from nhiscan.sources.repo.history_jobs import scan_history_jobs

        scan_history_jobs(scanner, jobs, res, keep_suppressed)
        return res
    for job in jobs:
        data = job.data
        rel = printable(job.rel)  # what findings and errors show; job.rel is what is opened
        if data is None:
            try:
                data = read_inside(job.root, job.rel)
            except OutsideTree:
                res.links_out.append(rel)
                continue
            except OSError as exc:
                where = job.source or f"{job.repository}/{rel}"
                res.errors.append(SourceError(where, f"cannot read: {exc.strerror}"))
                continue
            if data is None:
                continue
        res.files += 1
        res.bytes += len(data)
        text = decode_text(data)
        if text is None:
            continue
        # nhiscan's own outputs are scanned like any file (nothing a file holds can hide a secret);
        # only the value forms nhiscan writes in them are recognised (see secrets.to_secrets).
        own = nhiscan_output(text)
        if own is not None and job.commit is None:
            res.nhiscan_files.append(rel)
        raws = scanner.scan_text(rel, text)
        found, hidden = to_secrets(
            raws,
            text,
            rel,
            commit=job.commit,
            repository=job.repository,
            repository_name=job.repository_name or None,
            keep_suppressed=keep_suppressed,
            own_output=own,
        )
        res.secrets.extend(found)
        res.suppressed.extend(hidden)
        if job.commit is None and configs.is_config_file(rel):
            try:
                scanned = configs.scan_config(rel, text)
            except configs.ConfigParseError as exc:
                res.errors.append(SourceError(f"{job.repository}/{rel}", exc.detail))
                continue
            res.errors.extend(SourceError(f"{job.repository}/{rel}", p.detail) for p in scanned.problems)
            res.observations.extend(
                replace(
                    o,
                    location=replace(
                        o.location, repository=job.repository, repository_name=job.repository_name or None
                    ),
                )
                for o in scanned.observations
            )
    return res


# -- orchestration --------------------------------------------------------------------------------
def _batches(jobs: Iterable[Job]) -> Iterator[list[Job]]:
    batch: list[Job] = []
    size = 0
    for job in jobs:
        batch.append(job)
        size += job.size or (len(job.data) if job.data is not None else 0)
        if size >= BATCH_BYTES or len(batch) >= 256:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


class _Runner:
    """Runs batches in-process or in a process pool; the pool is created on first large need.

    Leaving the runner normally waits for the pool's workers to finish; leaving it by an exception
    (KeyboardInterrupt in a library caller, an error) kills them at once instead of letting them
    work through every queued batch first.
    """

    def __init__(self, workers: int, keep_suppressed: bool) -> None:
        self.workers = workers
        self.keep_suppressed = keep_suppressed
        self._stack = ExitStack()
        self._pool: ProcessPoolExecutor | None = None
        self._local: object | None = None

    def __enter__(self) -> _Runner:
        return self

    def __exit__(self, et: type[BaseException] | None, *exc: object) -> None:
        try:
            if self._pool is not None:
                self._close_pool(kill=et is not None)
        finally:
            self._stack.close()

    def _close_pool(self, *, kill: bool) -> None:
        pool, self._pool = self._pool, None
        if pool is None:
            return
        if kill:
            # The executor offers no way to stop running work; its processes are in _processes.
            for proc in list(getattr(pool, "_processes", {}).values()):
                proc.kill()
        pool.shutdown(wait=not kill, cancel_futures=kill)

    def _local_scanner(self) -> object:
        if self._local is None:
            from nhiscan.sources.repo.deferred_imports import requests_deferred

            with requests_deferred():  # detect-secrets' plugins without `requests` until one needs it
                from nhiscan.sources.repo.engine import ds_session

                self._local = self._stack.enter_context(ds_session())
        return self._local

    def run(
        self, jobs: Sequence[Job], total_bytes: int, advance: Callable[[int], None], source: str
    ) -> Iterator[BatchResult]:
        """Results of the jobs' batches, in order: in this process alone for a small tree or one
        core, else in this process and a pool of ``workers - 1`` processes together."""
        if self.workers <= 1 or total_bytes < PARALLEL_MIN_BYTES:
            scanner = self._local_scanner()
            for batch in _batches(jobs):
                res = scan_jobs(scanner, batch, self.keep_suppressed)
                advance(res.bytes)
                yield res
            return
        yield from self._shared(list(_batches(jobs)), advance, source)

    def _shared(
        self, batches: list[list[Job]], advance: Callable[[int], None], source: str
    ) -> Iterator[BatchResult]:
        """The batches' results in order, scanned by this process and ``workers - 1`` pool workers
        together: this process starts at once (a spawned worker needs most of a second to import
        detect-secrets) and is never idle waiting for the pool. The pool takes the largest batches
        first and this process the smallest, so that both finish at about the same time."""
        from concurrent.futures import FIRST_COMPLETED, wait

        order = sorted(range(len(batches)), key=lambda i: -sum(j.size for j in batches[i]))
        pending = collections.deque(order)
        running: dict[Future[BatchResult], int] = {}
        done: dict[int, BatchResult] = {}
        ahead = 2 * (self.workers - 1)  # queued in the pool at any time
        emitted = 0
        while pending or running:
            while len(pending) > 1 and len(running) < ahead:  # the last one for this process
                i = pending.popleft()
                running[self._submit(batches[i], self.workers - 1)] = i
            if pending:
                i = pending.pop()
                # (detect-secrets is set up here after the first submissions: the pool's spawn
                # is under way meanwhile)
                done[i] = scan_jobs(self._local_scanner(), batches[i], self.keep_suppressed)
                finished = [f for f in running if f.done()]
            else:
                finished = list(wait(running, return_when=FIRST_COMPLETED).done)
            for fut in finished:
                done[running.pop(fut)] = self._result(fut, source)
            while emitted in done:
                res = done.pop(emitted)
                emitted += 1
                advance(res.bytes)
                yield res

    def run_stream(self, batches: Iterable[list[Job]], source: str) -> Iterator[BatchResult]:
        """Results of a stream of batches of unknown length, in order, holding at most two batches
        per worker at once: in this process until PARALLEL_MIN_BYTES have been scanned, then in
        the pool when there is one already, or more than two cores (the stream's producer, git,
        and this process keep two cores busy: starting workers for it would cost more than it
        saves)."""
        from collections import deque

        done = 0
        pool = self._pool is not None or self.workers > 2
        window: deque[Future[BatchResult]] = deque()
        for batch in batches:
            if not pool or self.workers <= 1 or done < PARALLEL_MIN_BYTES:
                res = scan_jobs(self._local_scanner(), batch, self.keep_suppressed)
                done += res.bytes
                yield res
                continue
            window.append(self._submit(batch))
            if len(window) >= 2 * self.workers:
                yield self._result(window.popleft(), source)
        while window:
            yield self._result(window.popleft(), source)

    def _submit(self, batch: list[Job], size: int | None = None) -> Future[BatchResult]:
        from concurrent.futures import ProcessPoolExecutor

        from nhiscan.lifecycle import spawning

        # workers start (on the first submissions) with interrupts blocked (see nhiscan.lifecycle)
        with spawning():
            if self._pool is None:
                import multiprocessing

                self._pool = ProcessPoolExecutor(
                    max_workers=size or self.workers,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=_worker_init,
                    initargs=(os.getpid(), secret_ids.run_key()),
                )
            return self._pool.submit(_worker_scan, batch, self.keep_suppressed)

    def _result(self, fut: Future[BatchResult], source: str) -> BatchResult:
        from concurrent.futures.process import BrokenProcessPool

        try:
            return fut.result()
        except BrokenProcessPool:
            self._close_pool(kill=True)  # a new pool for the next PATH
            raise InputError(
                source,
                "a secret-scanning worker process ended unexpectedly (killed, or out of memory); "
                "not fully scanned",
            ) from None


def _workers() -> int:
    env = os.environ.get("NHISCAN_WORKERS")
    if env and env.isdigit():
        return max(1, int(env))
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)


@contextmanager
def _progress(enabled: bool) -> Iterator[Callable[[str, int], Callable[[int], None]]]:
    """A factory of progress tasks on stderr (rich), or no-ops when not on a terminal."""
    if not enabled:
        yield lambda _label, _total: lambda _n: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as progress:

        def task(label: str, total: int) -> Callable[[int], None]:
            tid = progress.add_task(label, total=total)
            return lambda n: progress.advance(tid, n)

        yield task


def scan_paths(config: ScanConfig, *, keep_suppressed: bool = False) -> ProviderResult:
    """Secrets and config observations of every PATH (and of its git history with config.history)."""
    result = ProviderResult()
    exclude = config.settings.exclude
    seen: set[str] = set()
    names = repository_names(config.paths)
    with _Runner(_workers(), keep_suppressed) as runner, _progress(config.progress) as task:
        for arg in config.paths:
            root = Path(arg)
            # The same directory spelled twice (`repo` and `./repo/`) is scanned once: twice
            # would report its every secret as reused across two repositories.
            same = os.path.realpath(root)
            if same in seen:
                continue
            seen.add(same)
            try:
                _scan_one(root, arg, names.get(arg, arg), exclude, config, runner, task, result)
            except InputError as exc:
                result.errors.append(SourceError(exc.source, exc.detail))
    return result


def _scan_one(
    root: Path,
    arg: str,
    name: str,
    exclude: Sequence[str],
    config: ScanConfig,
    runner: _Runner,
    task: Callable[[str, int], Callable[[int], None]],
    result: ProviderResult,
) -> None:
    try:
        st = root.stat()
    except FileNotFoundError:
        raise InputError(arg, "path not found") from None
    except OSError as exc:  # e.g. inside a directory that may not be searched
        raise InputError(arg, f"cannot read: {exc.strerror}") from None
    history = None
    if config.history and stat.S_ISDIR(st.st_mode):
        from nhiscan.sources.repo.history_scan import start_history

        history = start_history(root)  # git starts now: it works while the tree is scanned
    try:
        _scan_tree(root, st, arg, name, exclude, config, runner, task, result, history)
    finally:
        if history is not None:
            history.close()


def _scan_tree(
    root: Path,
    st: os.stat_result,
    arg: str,
    name: str,
    exclude: Sequence[str],
    config: ScanConfig,
    runner: _Runner,
    task: Callable[[str, int], Callable[[int], None]],
    result: ProviderResult,
    history: HistoryStart | None,
) -> None:
    too_big: list[str] = []
    links_out: list[str] = []
    if stat.S_ISREG(st.st_mode):
        # A file named on the command line is the scanned root itself: a link to it is followed.
        real = os.path.realpath(root)
        jobs = [
            Job(
                os.path.dirname(real),
                os.path.basename(real),
                arg,
                size=st.st_size,
                source=arg,
                repository_name=name,
            )
        ]
        in_git = False
    else:
        listing = list_files(root, exclude)
        in_git = listing.in_git
        links_out.extend(printable(rel) for rel in listing.links_out)
        for rel, why in listing.unreadable:
            result.errors.append(SourceError(arg if rel == "." else f"{arg}/{printable(rel)}", why))
        jobs = []
        for rel, size in listing.files:
            if size <= MAX_FILE_BYTES:
                jobs.append(Job(listing.root, rel, arg, size=size, repository_name=name))
            else:
                too_big.append(printable(rel))
    total = sum(j.size for j in jobs)
    advance = task(f"secrets {arg}", total)
    tree_hashes: set[str] = set()
    own: list[str] = []
    start = len(result.observations)
    for res in runner.run(jobs, total, advance, arg):
        own.extend(res.nhiscan_files)
        links_out.extend(res.links_out)
        result.secrets.extend(res.secrets)
        result.secrets.extend(res.suppressed)
        result.observations.extend(res.observations)
        result.errors.extend(res.errors)
        tree_hashes.update(s.hash for s in res.secrets)
    result.observations[start:] = gha_identity.with_github_repository(result.observations[start:], root)
    result.sources.append(
        SourceRef(
            kind="repository",
            scope=None,
            path=arg,
            skipped=tuple(too_big),
            nhiscan_files=tuple(sorted(own)),
            links_not_followed=tuple(sorted(links_out)),
            commit=git_head(root) if in_git else None,
        )
    )
    if history is not None:
        if not in_git:
            raise InputError(arg, "--history needs a git repository")
        from nhiscan.sources.repo.history_scan import scan_history

        skip = lambda rel: skip_reason(rel, exclude) is not None  # noqa: E731
        scan_history(history, root, arg, name, skip, runner, task, result, tree_hashes)
