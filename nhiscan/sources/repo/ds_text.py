"""Text helpers of the detect-secrets adapter: its indirect-reference filter answered in linear time,
which config transformers can possibly parse a text, and lines as detect-secrets reads them."""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from typing import overload

INDIRECT_FILTER = "detect_secrets.filters.heuristic.is_indirect_reference"
# detect-secrets' pattern without its leading ``([^\v=!:]*)\s*``: that part may match nothing, so a
# line matches the full pattern exactly when it matches this one; the closing bracket is then found
# with one rfind instead of a backtracking ``[^\v]*`` from every position (quadratic up to the
# filter's 1000-character limit: 0.4 ms per line of a JSON service model).
_INDIRECT_OPEN = re.compile(r"(?::=?|[!=]{1,3})\s*[\w.-]+[\[\(]")


def is_indirect_reference(line: str) -> bool:
    """detect-secrets' ``is_indirect_reference`` (``secret = get_secret()``, ``x = headers['k']``)."""
    if len(line) > 1000:
        return False
    if "\v" not in line:
        m = _INDIRECT_OPEN.search(line)
        # the leftmost opening has the smallest end (operators never occur inside one)
        return m is not None and max(line.rfind("]"), line.rfind(")")) >= m.end()
    for m in _INDIRECT_OPEN.finditer(line):  # a vertical tab ends what may close it (lines <= 1000)
        stop = line.find("\v", m.end())
        tail = line[m.end() : stop if stop >= 0 else len(line)]
        if "]" in tail or ")" in tail:
            return True
    return False


def may_be_ini(text: str) -> bool:
    for line in text.split("\n", 200):
        stripped = line.strip()
        if not stripped or stripped[0] in "#;":
            continue
        return stripped.startswith("[")
    return True  # long comment header: let the parser decide


def may_be_headerless_ini(text: str) -> bool:
    """Whether configparser may accept the text under the ``[global]`` header the eager config
    transformer adds: its first entry (after blank and comment lines) must be a section or an
    option (``name = value`` / ``name: value``); anything else (a JSON ``{``, code) is an error
    that configparser only raises after parsing the whole file."""
    for line in text.split("\n", 200):
        stripped = line.strip()
        if not stripped or stripped[0] in "#;":
            continue
        if stripped.startswith("["):
            return True
        sep = min((i for i in (stripped.find("="), stripped.find(":")) if i >= 0), default=-1)
        return sep > 0
    return True  # long comment header: let the parser decide


class NamedText(io.StringIO):
    def __init__(self, text: str, name: str) -> None:
        super().__init__(text)
        self.name = name


def split_lines(text: str) -> Sequence[str]:
    """Lines as Python's text-mode readlines() gives them (universal newlines, ends kept)."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _Lines(text.split("\n"))


class _Lines(Sequence[str]):
    """The lines of a split text, each with its line end added when read: the scan reads a few
    candidate lines (and the lines around them) of a JSON model's hundred thousand."""

    def __init__(self, parts: list[str]) -> None:
        self._parts = parts
        self._len = len(parts) - (0 if parts[-1] else 1)

    def __len__(self) -> int:
        return self._len

    def _line(self, i: int) -> str:
        return self._parts[i] + "\n" if i < len(self._parts) - 1 else self._parts[i]

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> list[str]: ...
    def __getitem__(self, index: int | slice) -> str | list[str]:
        if isinstance(index, slice):
            return [self._line(i) for i in range(*index.indices(self._len))]
        if index < 0:
            index += self._len
        if not 0 <= index < self._len:
            raise IndexError("line index out of range")
        return self._line(index)
