"""Worker side of `scan --history`: many small history changes scanned as few texts.

A history change is usually a few added lines; what scanning one text costs is mostly a fixed
price per call (the engine's whole-text passes, its file-name filters), so thousands of tiny texts
would cost far more than their bytes. Changes whose file names the engine treats alike (same
extension, same answer from the file-name filters, no config transformer that parses the whole
file) are scanned as one text, and each result is handed back to the change its line falls in,
which then goes through ``to_secrets`` on its own text like any file. Changes of files a
transformer parses (YAML, INI, ...) are scanned one by one, as they would be in the work tree.
"""

from __future__ import annotations

import os
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from nhiscan.display import printable
from nhiscan.model import Secret
from nhiscan.sources.repo.history import file_line
from nhiscan.sources.repo.own_outputs import nhiscan_output
from nhiscan.sources.repo.secrets import to_secrets
from nhiscan.sources.repo.walker import decode_text

if TYPE_CHECKING:
    from nhiscan.sources.repo import BatchResult, Job
    from nhiscan.sources.repo.engine import RawSecret, Scanner

GROUP_CHARS = 1 << 20
_LOCK_TAILS = (".lock", ".resolved", "lock.json")
_BY_EXT: dict[str, tuple[bool, bool]] = {}  # extension -> (YAML transformer, eager INI transformer)


def _alone(rel: str, text: str) -> bool:
    """Whether a config transformer may parse this change's text as a whole file (then it is
    scanned alone, as the work tree would scan it): a YAML file, a text whose first entry is an
    INI ``[section]``, or, for the file types the eager INI
    transformer reads, one whose first entry is ``name = value`` / ``name: value``."""
    ext = os.path.splitext(rel)[1]
    known = _BY_EXT.get(ext)
    if known is None:
        from detect_secrets.transformers import get_transformers

        yaml = eager = False
        transformers: list[Any] = list(get_transformers())
        for t in transformers:
            if type(t).__name__ == "YAMLTransformer":
                yaml = yaml or bool(t.should_parse_file(f"x{ext}"))
            elif t.is_eager:
                eager = eager or bool(t.should_parse_file(f"x{ext}"))
        known = _BY_EXT[ext] = (yaml, eager)
    yaml, eager = known
    if yaml:
        return True
    first = _first_entry(text)
    if first is None:
        return False  # comments only: nothing to parse, and a group is parsed by its first entry
    if first.startswith("["):
        return True
    if eager:
        sep = min((i for i in (first.find("="), first.find(":")) if i >= 0), default=-1)
        return sep > 0
    return False


def _first_entry(text: str) -> str | None:
    """The first line that is neither blank nor a ``#`` / ``;`` comment (None: not in 200 lines)."""
    for line in text.split("\n", 200):
        stripped = line.strip()
        if stripped and stripped[0] not in "#;":
            return stripped
    return None


def _group_key(rel: str) -> tuple[str, str, bool]:
    """What the engine's file-name filters and plugins look at: the extension, a lock file's name,
    and whether the path names swagger (detect-secrets' filters)."""
    base = rel.rsplit("/", 1)[-1]
    return (
        os.path.splitext(rel)[1],
        base if base.endswith(_LOCK_TAILS) else "",
        "swagger" in rel.lower(),
    )


def scan_history_jobs(scanner: Scanner, jobs: Sequence[Job], res: BatchResult, keep_suppressed: bool) -> None:
    texts: list[str | None] = []
    for job in jobs:
        data = job.data or b""
        res.files += 1
        res.bytes += len(data)
        text = decode_text(data)
        if text is not None and "\r" in text:
            text = text.replace("\r\n", "\n").replace("\r", "\n")  # as the engine reads it
        texts.append(text)
    raws: list[list[RawSecret]] = [[] for _ in jobs]
    groups: dict[tuple[str, str, bool], list[int]] = {}
    for i, job in enumerate(jobs):
        text = texts[i]
        if text is None:
            continue
        rel = printable(job.rel)
        if _alone(rel, text):
            raws[i] = scanner.scan_text(rel, text)
            continue
        groups.setdefault(_group_key(rel), []).append(i)
    for members in groups.values():
        start = 0
        while start < len(members):
            chunk: list[int] = []
            size = 0
            while start < len(members) and (not chunk or size < GROUP_CHARS):
                chunk.append(members[start])
                size += len(texts[members[start]] or "")
                start += 1
            _scan_group(scanner, jobs, texts, chunk, raws)
    for i, job in enumerate(jobs):
        text = texts[i]
        if not raws[i] or text is None:
            continue
        rel = printable(job.rel)
        found, hidden = to_secrets(
            raws[i],
            text,
            rel,
            commit=job.commit,
            repository=job.repository,
            repository_name=job.repository_name or None,
            keep_suppressed=keep_suppressed,
            own_output=nhiscan_output(text),
        )
        res.secrets.extend(_placed(job, found))
        res.suppressed.extend(_placed(job, hidden))


def _scan_group(
    scanner: Scanner,
    jobs: Sequence[Job],
    texts: list[str | None],
    members: list[int],
    raws: list[list[RawSecret]],
) -> None:
    parts = [texts[i] or "" for i in members]
    firsts: list[int] = []  # first line of each member in the combined text
    line = 1
    for part in parts:
        firsts.append(line)
        line += part.count("\n")
    found = scanner.scan_text(printable(jobs[members[0]].rel), "".join(parts))
    for raw in found:
        k = bisect_right(firsts, raw.line) - 1
        if k < 0:
            continue
        raws[members[k]].append(replace(raw, line=raw.line - firsts[k] + 1))


def _placed(job: Job, secrets: list[Secret]) -> list[Secret]:
    """Secrets found in a history change, placed at their line in the commit's file, dated."""
    return [
        replace(
            s,
            location=replace(
                s.location,
                line=file_line(job.starts, job.lines, s.location.line) if s.location.line else None,
                author_date=job.author_date,
            ),
        )
        for s in secrets
    ]
