"""Git history: every blob ever committed on any ref, each read once, with where it first appeared.

One `git log --all --reverse --raw` lists, commit by commit from the oldest, the blobs each commit
added or changed; the first sighting of a blob is the commit and path that introduced it. The blobs
are then streamed through one `git cat-file --batch` process: no checkout, no per-commit work.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from nhiscan.errors import InputError


@dataclass(frozen=True)
class BlobOrigin:
    blob: str
    commit: str
    path: str


@dataclass(frozen=True)
class HistoryIndex:
    commits: int
    blobs: list[BlobOrigin]


def _git(root: Path, *args: str) -> bytes:
    proc = subprocess.run(
        ["git", "-C", str(root), *args], capture_output=True, check=False, stdin=subprocess.DEVNULL
    )
    if proc.returncode != 0:
        msg = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise InputError(str(root), f"git {args[0]} failed: {msg[-1] if msg else proc.returncode}")
    return proc.stdout


def index_history(root: Path) -> HistoryIndex:
    """Every unique blob under ``root`` reachable from any ref, with the earliest commit and path
    (relative to ``root``) that added it."""
    # PATH may be a subdirectory of a larger repository: only its part of the history counts
    # (pathspec "."), with paths relative to it (--relative), like the work-tree scan.
    commits = len(_git(root, "rev-list", "--all", "--", ".").split())
    if commits == 0:
        return HistoryIndex(0, [])
    out = _git(
        root,
        "log",
        "--all",
        "--reverse",
        "--topo-order",
        "--format=%x00%H",
        "--raw",
        "--no-abbrev",
        "--no-renames",
        "-z",
        "--diff-filter=AMT",
        "--relative",
        "--",
        ".",
    )
    seen: dict[str, BlobOrigin] = {}
    commit = ""
    # -z output: "\0<sha>\0" per commit, then "\n:<modes> <old> <new> <status>\0<path>\0" records.
    fields = out.split(b"\0")
    i = 0
    while i < len(fields):
        item = fields[i]
        if not item:
            i += 1
            continue
        text = item.decode("utf-8", "surrogateescape").lstrip("\n")
        if text.startswith(":"):
            meta = text.split()
            path = fields[i + 1].decode("utf-8", "surrogateescape") if i + 1 < len(fields) else ""
            i += 2
            if len(meta) >= 5 and meta[1] != "160000":  # skip submodule links
                blob = meta[3]
                if blob not in seen and set(blob) != {"0"}:
                    seen[blob] = BlobOrigin(blob, commit, path)
            continue
        commit = text.strip()
        i += 1
    return HistoryIndex(commits, list(seen.values()))


def read_blobs(root: Path, blobs: Iterable[str], max_bytes: int) -> Iterator[tuple[str, bytes | None]]:
    """(blob id, content) for each blob; None for blobs over ``max_bytes`` (not read into memory)."""
    wanted = list(blobs)
    if not wanted:
        return
    proc = subprocess.Popen(
        ["git", "-C", str(root), "cat-file", "--batch"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert proc.stdin is not None and proc.stdout is not None
    import threading

    def feed() -> None:
        assert proc.stdin is not None
        try:
            for b in wanted:
                proc.stdin.write(b.encode("ascii") + b"\n")
            proc.stdin.close()
        except BrokenPipeError:
            pass

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    out = proc.stdout
    try:
        for _ in wanted:
            header = out.readline()
            if not header:
                break
            parts = header.split()
            if len(parts) < 3 or parts[1] == b"missing":
                continue
            size = int(parts[2])
            if size > max_bytes:
                remaining = size + 1
                while remaining:
                    chunk = out.read(min(remaining, 1 << 20))
                    if not chunk:
                        break
                    remaining -= len(chunk)
                yield parts[0].decode("ascii"), None
                continue
            data = out.read(size)
            out.read(1)  # trailing newline
            yield parts[0].decode("ascii"), data
    finally:
        writer.join(timeout=5)
        proc.stdout.close()
        proc.wait()
