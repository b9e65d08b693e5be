"""Git history as a stream of what each commit added: one `git log -p` read as it is written.

One `git log --all --reverse --topo-order -p -U0` lists, commit by commit from the oldest, the
lines each commit added (no context, no removed lines are kept). Each (commit, file) with added
lines becomes one ``FileChange``: those lines as one text, and where each run of them sits in the
new file, so a secret's line number is its line in that commit's version of the file.

Each file version is read once per path: a (path, content) already met on an earlier commit (a
cherry-pick, a revert, a merge, the same file on two branches) is skipped. Every line of such a
version was already an added line somewhere earlier (every version is reached from an empty file
through the diffs that produced it), so nothing is lost; the same content under another path is
read again, so each commit that adds a secret somewhere is counted. The seen versions are the only
thing kept across commits: a set of 20-byte digests of (path, object id), about 90 bytes each in
memory (9 MB for 100,000 versions).

Bounded buffers: git starts before the work tree is scanned and a thread reads its output ahead,
in 1 MiB pieces, holding at most ``READ_AHEAD`` bytes (git then waits); a line longer than
``max_line`` is skipped as it streams past (never held), and a file change whose added text passes
``max_change`` is cut there; both are named in the scan's notes.

Merge commits are not diffed (``--diff-merges=off``): what they bring was read on the branches
merged; only a line that a conflict resolution itself wrote is not read (diffing merges against
their first parent reads the merged branches a second time: twice the output on a repository that
merges pull requests).

Git runs with every program a repository could make it start turned off (gitsafe.py).
"""

from __future__ import annotations

import io
import re
import subprocess
import tempfile
import threading
from bisect import bisect_right
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from hashlib import blake2b
from pathlib import Path
from typing import Protocol

from nhiscan.errors import InputError
from nhiscan.sources.repo.gitsafe import git_argv, git_env

CHUNK = 1 << 20
# How much of git's output may wait, read ahead, while the work tree is scanned.
READ_AHEAD = 32 << 20
MAX_LINE = 1 << 20
_MARK = b"\x01nhiscan-commit "
_HUNK = re.compile(rb"@@+ -\d+(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")
_SUBMODULE = b"160000"
_ESCAPES = {b"n": b"\n", b"t": b"\t", b'"': b'"', b"\\": b"\\", b"a": b"\a", b"b": b"\b", b"f": b"\f", b"r": b"\r", b"v": b"\v"}  # fmt: skip


@dataclass(frozen=True)
class FileChange:
    """The lines one commit added to one file, as one text (each ending with a newline).

    ``starts`` and ``lines`` map a line of ``text`` back to the file: the run of added lines that
    begins at text line ``starts[i]`` (1-based) begins at file line ``lines[i]``.
    """

    commit: str
    author_date: datetime | None
    path: str
    text: bytes
    starts: tuple[int, ...]
    lines: tuple[int, ...]

    def file_line(self, text_line: int) -> int:
        return file_line(self.starts, self.lines, text_line)


def file_line(starts: Sequence[int], lines: Sequence[int], text_line: int) -> int:
    """The file line of line ``text_line`` of a change's text (see ``FileChange``)."""
    if not starts:
        return text_line
    i = bisect_right(starts, text_line) - 1
    return lines[max(i, 0)] + (text_line - starts[max(i, 0)])


@dataclass
class HistoryStats:
    commits: int = 0
    changes: int = 0
    bytes: int = 0
    seen_versions: int = 0
    skipped: list[str] = field(default_factory=list)  # "path@commit: why", capped
    skipped_count: int = 0

    def skip(self, path: str, commit: str, why: str) -> None:
        self.skipped_count += 1
        if len(self.skipped) < 100:
            self.skipped.append(f"{path}@{commit[:12]}: {why}")


class _Reader(Protocol):
    def read1(self, size: int = -1, /) -> bytes: ...


class _Lines:
    """The lines of a byte stream (without their newline), never holding more than one piece plus
    ``max_line`` bytes: a longer line is replaced by its first byte (so a hunk's line count stays
    right) and counted in ``too_long``."""

    def __init__(self, stream: _Reader, max_line: int) -> None:
        self.stream = stream
        self.max_line = max_line
        self.too_long = 0

    def __iter__(self) -> Iterator[bytes]:
        read = self.stream.read1
        tail = b""
        skipping = False  # inside a too-long line: drop bytes up to its end
        while True:
            chunk = read(CHUNK)
            if not chunk:
                break
            if skipping:
                nl = chunk.find(b"\n")
                if nl < 0:
                    continue
                chunk = chunk[nl + 1 :]
                skipping = False
            if tail:
                chunk = tail + chunk
            parts = chunk.split(b"\n")
            tail = parts.pop()
            limit = self.max_line
            for line in parts:
                if len(line) > limit:
                    self.too_long += 1
                    yield line[:1]
                else:
                    yield line
            if len(tail) > limit:
                self.too_long += 1
                yield tail[:1]
                tail = b""
                skipping = True
        if tail and not skipping:
            yield tail


def _unquote(raw: bytes) -> bytes:
    """A path as git writes it in a diff header: C-quoted when it holds special characters."""
    if not (raw.startswith(b'"') and raw.endswith(b'"') and len(raw) >= 2):
        return raw
    body = raw[1:-1]
    out = bytearray()
    i = 0
    while i < len(body):
        c = body[i : i + 1]
        if c != b"\\" or i + 1 >= len(body):
            out += c
            i += 1
            continue
        nxt = body[i + 1 : i + 2]
        if nxt.isdigit() and i + 3 < len(body) + 1:
            try:
                out.append(int(body[i + 1 : i + 4], 8) & 0xFF)
                i += 4
                continue
            except ValueError:
                pass
        out += _ESCAPES.get(nxt, nxt)
        i += 2
    return bytes(out)


def below_top(root: Path) -> bool:
    """Whether ``root`` is a directory below the top of its git work tree."""
    return bool(_git_out(root, "rev-parse", "--show-prefix"))


def _git_out(root: Path, *args: str) -> bytes:
    proc = subprocess.run(
        git_argv(root, *args),
        capture_output=True,
        check=False,
        stdin=subprocess.DEVNULL,
        env=git_env(LC_ALL="C"),
    )
    return proc.stdout.strip() if proc.returncode == 0 else b""


def count_commits(root: Path, subdir: bool) -> int:
    """How many commits any ref reaches (that touch ``root`` when it is a subdirectory)."""
    limit = ["--full-history", "--", "."] if subdir else []
    proc = subprocess.run(
        git_argv(root, "rev-list", "--all", "--count", *limit),
        capture_output=True,
        check=False,
        stdin=subprocess.DEVNULL,
        env=git_env(LC_ALL="C"),
    )
    out = proc.stdout.strip()
    return int(out) if proc.returncode == 0 and out.isdigit() else 0


class GitLog:
    """The `git log -p` of a repository, started at once and read ahead by a thread into at most
    ``budget`` bytes (so git works while the work tree is being scanned); ``changes`` parses it."""

    def __init__(self, root: Path, subdir: bool, budget: int = READ_AHEAD) -> None:
        self.root = root
        self.budget = budget
        self._err = tempfile.TemporaryFile()  # noqa: SIM115 - closed by close()
        self._error = ""
        self.proc = subprocess.Popen(
            _log_argv(root, subdir),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self._err,
            env=git_env(LC_ALL="C"),
        )
        self._chunks: deque[bytes] = deque()
        self._held = 0
        self._eof = False
        self._closed = False
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._pump, daemon=True, name="nhiscan-git-log")
        self._thread.start()

    def _pump(self) -> None:
        out = self.proc.stdout
        assert isinstance(out, io.BufferedReader)
        try:
            while True:
                data = out.read1(CHUNK)  # the GIL is released while it waits
                with self._cond:
                    while self._held >= self.budget and not self._closed:
                        self._cond.wait()
                    if self._closed or not data:
                        break
                    self._chunks.append(data)
                    self._held += len(data)
                    self._cond.notify_all()
        except (OSError, ValueError):
            pass
        with self._cond:
            self._eof = True
            self._cond.notify_all()

    def read1(self, size: int = -1) -> bytes:
        del size
        with self._cond:
            while not self._chunks and not self._eof:
                self._cond.wait()
            if not self._chunks:
                return b""
            data = self._chunks.popleft()
            self._held -= len(data)
            self._cond.notify_all()
            return data

    def close(self) -> int:
        """Ends git if it still runs; its exit code."""
        with self._cond:
            self._closed = True
            self._chunks.clear()
            self._cond.notify_all()
        if self.proc.poll() is None:
            self.proc.kill()
        self._thread.join(timeout=5)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        code = self.proc.wait()
        if not self._err.closed:
            self._err.seek(0)
            lines = self._err.read(1 << 16).decode("utf-8", "replace").strip().splitlines()
            self._error = lines[-1] if lines else ""
            self._err.close()
        return code

    def error(self) -> str:
        """git's last line on stderr (after ``close``)."""
        return self._error

    def changes(
        self,
        stats: HistoryStats,
        skip_path: Callable[[str], bool],
        max_change: int,
        max_line: int = MAX_LINE,
    ) -> Iterator[FileChange]:
        """The file changes of every commit any ref reaches, oldest first, each (path, content)
        once. Raises InputError (naming the repository) when git fails; ends git when left early."""
        seen: set[bytes] = set()
        finished = False
        try:
            yield from parse_log(_Lines(self, max_line), stats, seen, skip_path, max_change)
            finished = True
        finally:
            if not finished:
                self.close()
        code = self.close()
        if code != 0:
            raise InputError(str(self.root), f"git log failed: {self.error() or code}")


def _log_argv(root: Path, subdir: bool) -> list[str]:
    # A PATH below the top of the work tree reads its part of the history only (pathspec "."),
    # with paths relative to it like the work-tree scan; every commit that touches it is read
    # (--full-history: no simplification drops a side branch). At the top, no pathspec: git need
    # not compare trees to decide which commits to show.
    limit = ["--full-history", "--relative", "--", "."] if subdir else []
    return git_argv(
        root,
        "log",
        "--all",
        "--reverse",
        "--topo-order",
        f"--format={_MARK.decode('ascii').replace(chr(1), '%x01')}%H %aI",
        "-p",
        "-U0",
        "--inter-hunk-context=0",
        "--no-color",
        "--no-ext-diff",
        "--no-textconv",
        "--no-renames",
        "--no-show-signature",
        "--diff-merges=off",
        "--diff-filter=AM",
        "--full-index",
        "--src-prefix=a/",
        "--dst-prefix=b/",
        "--root",
        *limit,
    )


def _date(raw: bytes) -> datetime | None:
    try:
        return datetime.fromisoformat(raw.decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        return None


def parse_log(
    lines: _Lines,
    stats: HistoryStats,
    seen: set[bytes],
    skip_path: Callable[[str], bool],
    max_change: int,
) -> Iterator[FileChange]:
    """The file changes of `git log -p -U0` output (see ``_log_argv``), each new content once."""
    commit = ""
    date: datetime | None = None
    path: str | None = None
    blob: bytes | None = None
    submodule = False
    change: _Change | None = None  # the current file's added lines, when they are read
    it = iter(lines)
    for line in it:
        if line.startswith(b"@@"):
            m = _HUNK.match(line)
            if m is None:
                continue
            new_no = int(m[2])
            old_left = int(m[1]) if m[1] is not None else 1
            new_left = int(m[3]) if m[3] is not None else 1
            # The hunk's lines are counted off here, so no content line is ever read as a header.
            while old_left > 0 or new_left > 0:
                body = next(it, None)
                if body is None:
                    break
                c = body[:1]
                if c == b"+":
                    new_left -= 1
                    if change is not None and not change.cut:
                        change.add(body[1:], new_no)
                        change.cut = change.size > max_change
                    new_no += 1
                elif c == b"-":
                    old_left -= 1
                elif c == b" ":
                    old_left -= 1
                    new_left -= 1
                    new_no += 1
                elif c != b"\\":  # "\\ No newline at end of file" counts as nothing
                    break
        elif line.startswith(_MARK) or line.startswith(b"diff --git "):
            if change is not None:
                done = _finish(change, commit, date, path, blob, seen, stats, lines, max_change)
                if done is not None:
                    yield done
            path, blob, submodule, change = None, None, False, None
            if line.startswith(_MARK):
                head = line[len(_MARK) :].split(b" ", 1)
                commit = head[0].decode("ascii", "replace")
                date = _date(head[1]) if len(head) > 1 else None
                stats.commits += 1
        elif line.startswith(b"index "):
            parts = line.split()
            ids = parts[1].split(b"..") if len(parts) > 1 else []
            blob = bytes.fromhex(ids[1].decode("ascii")) if len(ids) == 2 and _hex(ids[1]) else None
            submodule = submodule or (len(parts) > 2 and parts[2] == _SUBMODULE)
        elif line.startswith((b"new file mode ", b"new mode ")):
            submodule = submodule or line.endswith(_SUBMODULE)
        elif line.startswith(b"+++ "):
            # git ends a name holding a space with a tab (for patch(1)); a name that itself ends
            # with a tab is quoted, so one trailing tab is never part of the name
            raw = line[4:-1] if line.endswith(b"\t") else line[4:]
            target = _unquote(raw)
            if target.startswith(b"b/") and not submodule:
                path = target[2:].decode("utf-8", "surrogateescape")
                if blob is not None:  # one key per (path, content): 20 bytes
                    blob = blake2b(blob + b"\0" + target, digest_size=20).digest()
                if not skip_path(path) and (blob is None or blob not in seen):
                    change = _Change(lines.too_long)
        # anything else (blank lines, mode lines, "Binary files ... differ") carries nothing
    if change is not None:
        done = _finish(change, commit, date, path, blob, seen, stats, lines, max_change)
        if done is not None:
            yield done


def _finish(
    change: _Change,
    commit: str,
    date: datetime | None,
    path: str | None,
    blob: bytes | None,
    seen: set[bytes],
    stats: HistoryStats,
    lines: _Lines,
    max_change: int,
) -> FileChange | None:
    if path is None:
        return None
    if blob is not None:
        seen.add(blob)
        stats.seen_versions = len(seen)
    if lines.too_long != change.too_long_before:
        stats.skip(path, commit, f"a line over {lines.max_line} bytes not read")
    if change.cut:
        stats.skip(path, commit, f"added text over {max_change} bytes: read up to there")
    if not change.parts:
        return None
    text = b"\n".join(change.parts) + b"\n"
    stats.changes += 1
    stats.bytes += len(text)
    return FileChange(commit, date, path, text, tuple(change.starts), tuple(change.lines))


def _hex(raw: bytes) -> bool:
    return len(raw) in (40, 64) and all(c in b"0123456789abcdef" for c in raw)


class _Change:
    __slots__ = ("count", "cut", "last", "lines", "parts", "size", "starts", "too_long_before")

    def __init__(self, too_long_before: int) -> None:
        self.parts: list[bytes] = []
        self.size = 0
        self.starts: list[int] = []
        self.lines: list[int] = []
        self.count = 0
        self.last = -1
        self.cut = False
        self.too_long_before = too_long_before

    def add(self, text: bytes, file_line: int) -> None:
        self.count += 1
        if file_line != self.last + 1:
            self.starts.append(self.count)
            self.lines.append(file_line)
        self.last = file_line
        self.parts.append(text)
        self.size += len(text) + 1
