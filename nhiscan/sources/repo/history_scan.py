"""`scan --history`: the lines every commit added (history.py), scanned like work-tree files.

Each (commit, file) change is one text for the same engine the work tree goes through (batches in
the same worker pool, streamed: at most two batches per worker wait at any time). A secret is
reported once per repository, at the commit that first added it (the earliest authored; parents
are read before their children), with that commit's author date, the number of commits that added it, and whether the
same value is still in the scanned tree (``in_tree``: found by the work-tree scan of the same PATH).

What is kept while the history streams past: the ids of the file versions already read (see
history.py) and one record per distinct secret found. Nothing else grows with the history.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from nhiscan.display import printable
from nhiscan.errors import InputError
from nhiscan.model import Secret, SourceRef
from nhiscan.sources.documents import ProviderResult
from nhiscan.sources.repo import Job, _batches, _Runner
from nhiscan.sources.repo.gitsafe import dotgit_outside
from nhiscan.sources.repo.history import GitLog, HistoryStats, below_top, count_commits
from nhiscan.sources.repo.walker import MAX_FILE_BYTES, git_toplevel


@dataclass
class _Record:
    secret: Secret
    commits: int
    last_commit: str


def _note(records: dict[tuple[str, str], _Record], found: list[Secret]) -> None:
    for s in found:
        key = (s.hash, s.type)
        commit = s.location.commit or ""
        rec = records.get(key)
        if rec is None:
            records[key] = _Record(s, 1, commit)
            continue
        if rec.last_commit != commit:
            rec.commits += 1
            rec.last_commit = commit
        # Commits on unrelated branches come in no particular order: the first is the earliest
        # authored (on equal dates, the first one read: parents are read before their children).
        new, old = s.location.author_date, rec.secret.location.author_date
        if new is not None and old is not None and new < old:
            rec.secret = s


@dataclass
class HistoryStart:
    """A history read started before the work-tree scan (git works meanwhile), or why not."""

    log: GitLog | None = None
    subdir: bool = False
    error: str | None = None

    def close(self) -> None:
        if self.log is not None:
            self.log.close()


def start_history(root: Path) -> HistoryStart:
    top = git_toplevel(root)
    if top is None:
        return HistoryStart()  # the caller reports that --history needs a git repository
    outside = dotgit_outside(top)
    if outside is not None:
        return HistoryStart(
            error=f"--history: its .git file points outside the tree ({printable(outside)}); not followed"
        )
    subdir = below_top(root)
    return HistoryStart(GitLog(root, subdir), subdir)


def scan_history(
    start: HistoryStart,
    root: Path,
    arg: str,
    name: str,
    skip_path: Callable[[str], bool],
    runner: _Runner,
    task: Callable[[str, int], Callable[[int], None]],
    result: ProviderResult,
    tree_hashes: set[str],
) -> None:
    if start.error is not None:
        raise InputError(arg, start.error)
    log = start.log
    if log is None:
        raise InputError(arg, "--history needs a git repository")
    commits = count_commits(root, start.subdir)
    advance = task(f"history {arg} ({commits} commits)", commits)
    stats = HistoryStats()

    def jobs() -> Iterator[Job]:
        counted = 0
        for change in log.changes(stats, skip_path, MAX_FILE_BYTES):
            if stats.commits != counted:
                advance(stats.commits - counted)
                counted = stats.commits
            yield Job(
                str(root),
                change.path,
                arg,
                commit=change.commit,
                repository_name=name,
                data=change.text,
                size=len(change.text),
                author_date=change.author_date,
                starts=change.starts,
                lines=change.lines,
            )

    found: dict[tuple[str, str], _Record] = {}
    hidden: dict[tuple[str, str], _Record] = {}
    for res in runner.run_stream(_batches(jobs()), arg):
        _note(found, res.secrets)
        _note(hidden, res.suppressed)
    for records in (found, hidden):
        for rec in records.values():
            s = rec.secret
            loc = replace(s.location, in_tree=s.hash in tree_hashes, commits=rec.commits)
            result.secrets.append(replace(s, location=loc))
    skipped = list(stats.skipped)
    if stats.skipped_count > len(skipped):
        skipped.append(f"({stats.skipped_count - len(skipped)} more not listed)")
    result.sources.append(
        SourceRef(kind="git-history", scope=f"{commits} commits", path=arg, skipped=tuple(skipped))
    )
