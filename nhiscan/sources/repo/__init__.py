"""Repository scanning: secrets (detect-secrets engine, see engine.py), CI and agent configs.

``scan_paths(config)`` walks each PATH (walker.py), scans every text file for secrets and hands
CI/agent configuration files to ``configs``; with ``config.history`` it also scans every blob of
the git history once (history.py). Files are scanned in a pool of worker processes (one per core)
when there is enough to do; each worker configures detect-secrets once for its lifetime.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

from nhiscan import secret_ids
from nhiscan.config import ScanConfig
from nhiscan.errors import InputError
from nhiscan.model import Observation, Secret, SourceError, SourceRef
from nhiscan.sources import ProviderResult
from nhiscan.sources.repo import configs
from nhiscan.sources.repo.naming import repository_names
from nhiscan.sources.repo.walker import (
    MAX_FILE_BYTES,
    decode_text,
    list_files,
    nhiscan_output,
    skip_reason,
)

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


@dataclass
class BatchResult:
    secrets: list[Secret] = field(default_factory=list)
    suppressed: list[Secret] = field(default_factory=list)
    observations: list[Observation] = field(default_factory=list)
    errors: list[SourceError] = field(default_factory=list)
    nhiscan_files: list[str] = field(default_factory=list)  # nhiscan's own outputs, not scanned
    files: int = 0
    bytes: int = 0


# -- worker side ----------------------------------------------------------------------------------
_WORKER: dict[str, object] = {}


def _worker_init(run_key: bytes) -> None:
    from nhiscan import secret_ids
    from nhiscan.sources.repo.engine import process_scanner

    # One run, one key: equal secrets get equal run ids whichever process found them.
    secret_ids.set_run_key(run_key)
    _WORKER["scanner"] = process_scanner()


def _worker_scan(jobs: Sequence[Job], keep_suppressed: bool) -> BatchResult:
    from nhiscan.sources.repo.engine import Scanner

    scanner = _WORKER["scanner"]
    assert isinstance(scanner, Scanner)
    return scan_jobs(scanner, jobs, keep_suppressed)


_CONTROL_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def printable_path(rel: str) -> str:
    """A file name as findings and errors show it: one line, encodable as UTF-8.

    POSIX file names may hold newlines (which would break the one-line-per-error contract) and
    bytes that are not UTF-8 (decoded as lone surrogates, which no report format can encode);
    those show escaped (``bad\\xffname.py``, ``new\\nline.py``).
    """
    if rel.isprintable():
        return rel
    try:
        text = rel.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeError:
        text = rel.encode("utf-8", "backslashreplace").decode("utf-8")
    return "".join(c if c.isprintable() else _CONTROL_ESCAPES.get(c, f"\\x{ord(c):02x}") for c in text)


def scan_jobs(scanner: object, jobs: Sequence[Job], keep_suppressed: bool = False) -> BatchResult:
    from nhiscan.sources.repo.engine import Scanner
    from nhiscan.sources.repo.secrets import to_secrets

    assert isinstance(scanner, Scanner)
    res = BatchResult()
    for job in jobs:
        data = job.data
        rel = printable_path(job.rel)  # what findings and errors show; job.rel is what is opened
        if data is None:
            try:
                data = Path(job.root, job.rel).read_bytes()
            except OSError as exc:
                res.errors.append(SourceError(f"{job.repository}/{rel}", f"cannot read: {exc.strerror}"))
                continue
        res.files += 1
        res.bytes += len(data)
        text = decode_text(data)
        if text is None:
            continue
        if nhiscan_output(text):
            if job.commit is None:
                res.nhiscan_files.append(rel)
            continue
        raws = scanner.scan_text(rel, text)
        found, hidden = to_secrets(
            raws,
            text,
            rel,
            commit=job.commit,
            repository=job.repository,
            repository_name=job.repository_name or None,
            keep_suppressed=keep_suppressed,
        )
        res.secrets.extend(found)
        res.suppressed.extend(hidden)
        if job.commit is None and configs.is_config_file(rel):
            try:
                observed = configs.scan_config_file(rel, text, strict=True)
            except configs.ConfigParseError as exc:
                res.errors.append(SourceError(f"{job.repository}/{rel}", exc.detail))
                continue
            res.observations.extend(
                replace(
                    o,
                    location=replace(
                        o.location, repository=job.repository, repository_name=job.repository_name or None
                    ),
                )
                for o in observed
            )
    return res


# -- orchestration --------------------------------------------------------------------------------
def _batches(jobs: Sequence[Job]) -> Iterator[list[Job]]:
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
    """Runs batches in-process or in a process pool; the pool is created on first large need."""

    def __init__(self, workers: int, keep_suppressed: bool) -> None:
        self.workers = workers
        self.keep_suppressed = keep_suppressed
        self._stack = ExitStack()
        self._pool: ProcessPoolExecutor | None = None
        self._local: object | None = None

    def __enter__(self) -> _Runner:
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def _local_scanner(self) -> object:
        if self._local is None:
            from nhiscan.sources.repo.engine import ds_session

            self._local = self._stack.enter_context(ds_session())
        return self._local

    def run(
        self, jobs: Sequence[Job], total_bytes: int, advance: Callable[[int], None]
    ) -> Iterator[BatchResult]:
        if self.workers <= 1 or total_bytes < PARALLEL_MIN_BYTES:
            scanner = self._local_scanner()
            for batch in _batches(jobs):
                res = scan_jobs(scanner, batch, self.keep_suppressed)
                advance(res.bytes)
                yield res
            return
        if self._pool is None:
            import multiprocessing

            self._pool = self._stack.enter_context(
                ProcessPoolExecutor(
                    max_workers=self.workers,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=_worker_init,
                    initargs=(secret_ids.run_key(),),
                )
            )
        futures: list[Future[BatchResult]] = [
            self._pool.submit(_worker_scan, batch, self.keep_suppressed) for batch in _batches(jobs)
        ]
        for fut in futures:
            res = fut.result()
            advance(res.bytes)
            yield res


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
    if not root.exists():
        raise InputError(arg, "path not found")
    too_big: list[str] = []
    if root.is_file():
        jobs = [Job(str(root.parent), root.name, arg, size=root.stat().st_size, repository_name=name)]
        in_git = False
    else:
        rels, in_git = list_files(root, exclude)
        jobs = []
        for rel in rels:
            try:
                size = (root / rel).stat().st_size
            except OSError:
                continue
            if size <= MAX_FILE_BYTES:
                jobs.append(Job(str(root), rel, arg, size=size, repository_name=name))
            else:
                too_big.append(printable_path(rel))
    total = sum(j.size for j in jobs)
    advance = task(f"secrets {arg}", total)
    tree_hashes: set[str] = set()
    own: list[str] = []
    for res in runner.run(jobs, total, advance):
        own.extend(res.nhiscan_files)
        result.secrets.extend(res.secrets)
        result.secrets.extend(res.suppressed)
        result.observations.extend(res.observations)
        result.errors.extend(res.errors)
        tree_hashes.update(s.hash for s in res.secrets)
    result.sources.append(
        SourceRef(
            kind="repository",
            scope=None,
            path=arg,
            skipped=tuple(too_big),
            nhiscan_files=tuple(sorted(own)),
        )
    )
    if config.history and root.is_dir():
        if not in_git:
            raise InputError(arg, "--history needs a git repository")
        _scan_history(root, arg, name, exclude, runner, task, result, tree_hashes)


def _scan_history(
    root: Path,
    arg: str,
    name: str,
    exclude: Sequence[str],
    runner: _Runner,
    task: Callable[[str, int], Callable[[int], None]],
    result: ProviderResult,
    tree_hashes: set[str],
) -> None:
    from nhiscan.sources.repo.history import index_history, read_blobs

    index = index_history(root)
    origins = {o.blob: o for o in index.blobs if skip_reason(o.path, exclude) is None}
    jobs: list[Job] = []
    total = 0
    too_big: set[str] = set()
    for blob, data in read_blobs(root, list(origins), MAX_FILE_BYTES):
        if data is None:
            too_big.add(f"{origins[blob].path}@{origins[blob].commit[:12]}")
            continue
        o = origins[blob]
        jobs.append(
            Job(str(root), o.path, arg, commit=o.commit, data=data, size=len(data), repository_name=name)
        )
        total += len(data)
    advance = task(f"history {arg} ({index.commits} commits)", total)
    seen: set[tuple[str, str]] = set()
    for res in runner.run(jobs, total, advance):
        for s in res.secrets:
            # Still in the work tree: reported there, not again from history.
            if s.hash in tree_hashes or (s.hash, s.location.path) in seen:
                continue
            seen.add((s.hash, s.location.path))
            result.secrets.append(s)
        result.secrets.extend(res.suppressed)
    result.sources.append(
        SourceRef(
            kind="git-history", scope=f"{index.commits} commits", path=arg, skipped=tuple(sorted(too_big))
        )
    )
