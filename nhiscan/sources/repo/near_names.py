"""Where a context detector's value can be, found from its names' stems in the lower-cased text.

A context detector (detectors.py) reports a value only right after one of its credential-like
names. Its regex begins with a case-insensitive alternation of those names, which gives the regex
engine no literal to skip to: tried at every position of a JSON model's windows it cost about a
second of a botocore scan, and so did searching each candidate value's every occurrence in the
whole text. Every name holds its stem (its longest word) contiguous, in any case and with any
separator, so both searches can start from the stems' occurrences in the lower-cased text:

* ``context_starts``: the only positions where a name, hence a match, can begin;
* ``NameStretches``: the only stretches of the text where a value can start (within the context
  window after a stem), joined once so that each candidate value costs one search of them.

Both need ``low`` to have one character per character of the text; ``context_starts`` also needs
the text to lack the two characters a case-insensitive regex matches to an ASCII letter while
lower-casing keeps them apart (``fold_safe``). Callers keep the plain searches otherwise, and
``tests/repo/test_catalogue_paths.py`` compares the two on generated texts.
"""

from __future__ import annotations

import bisect
import itertools
import re
from collections.abc import Callable, Iterable, Iterator

FindAll = Callable[[str], list[int]]


def fold_safe(text: str) -> bool:
    """Whether the text lacks dotless i and long s (a case-insensitive regex matches them to ``i``
    and ``s``; lower-casing keeps them)."""
    return text.isascii() or ("\u0131" not in text and "\u017f" not in text)


def name_stem(name: str) -> str:
    """A name's longest word: it occurs wherever the name does, whatever separator (or none) joins
    the name's words."""
    return max(re.split(r"[_\-. ]", name), key=len)


def stem_offset(names: Iterable[str]) -> int:
    """How far into a match of a name its stem can start (its place in the name as written; the
    name matches with separators left out too, never longer)."""
    return max(n.find(name_stem(n)) for n in names)


def merge(spans: list[tuple[int, int]], gap: int) -> list[tuple[int, int]]:
    """Sorted spans merged where they overlap (``gap`` 1: also where they touch, for spans given
    by their first and last positions)."""
    out: list[tuple[int, int]] = []
    for lo, hi in spans:
        if out and lo <= out[-1][1] + gap:
            if hi > out[-1][1]:
                out[-1] = (out[-1][0], hi)
        else:
            out.append((lo, hi))
    return out


def overlaps_itself(word: str) -> bool:
    """Whether two occurrences of ``word`` can overlap (a proper suffix of it is also a prefix)."""
    k = word.find(word[:1], 1)  # a suffix that is a prefix starts with the first character
    while k > 0:
        if word.startswith(word[k:]):
            return True
        k = word.find(word[:1], k + 1)
    return False


def occurrences(low: str, stem: str) -> list[int]:
    """Every position of ``stem`` in ``low``, ascending (overlapping ones too)."""
    out: list[int] = []
    q = low.find(stem)
    while q >= 0:
        out.append(q)
        q = low.find(stem, q + 1)
    return out


def context_starts(low: str, stems: Iterable[str], reach: int, at: FindAll | None = None) -> list[int]:
    """Ascending positions at most ``reach`` characters before an occurrence of a stem (``at``:
    the occurrences of a stem in ``low``, when the caller keeps them)."""
    find_all = at or (lambda stem: occurrences(low, stem))
    starts: set[int] = set()
    for stem in stems:
        for q in find_all(stem):
            starts.update(range(max(0, q - reach), q + 1))
    return sorted(starts)


def context_matches(
    regex: re.Pattern[str], text: str, starts: list[int], windows: list[tuple[int, int]]
) -> Iterator[re.Match[str]]:
    """What ``regex.finditer(text, lo, hi)`` yields for each window, for a regex that can only
    match from ``starts``."""
    match = regex.match
    for lo, hi in windows:
        floor = lo
        for p in itertools.islice(starts, bisect.bisect_left(starts, lo), None):
            if p >= hi:
                break
            if p < floor:
                continue
            m = match(text, p, hi)
            if m is not None:
                floor = m.end() if m.end() > p else p + 1
                yield m


class NameStretches:
    """The positions at which some stem ends at most ``window`` characters before (where
    ``stem in text[pos - window:pos].lower()``), and the text around them joined once."""

    def __init__(
        self, text: str, low: str, stems: Iterable[str], window: int, longest: int, at: FindAll | None = None
    ) -> None:
        find_all = at or (lambda stem: occurrences(low, stem))
        valid = [(q + len(s), q + window) for s in stems for q in find_all(s)]
        self.valid = merge(sorted(valid), 1)
        self.firsts = [a for a, _ in self.valid]
        # each stretch with room for a value of ``longest`` characters starting at its end
        self.regions = merge([(a, min(len(text), b + longest)) for a, b in self.valid], 0)
        self.offsets: list[int] = []
        pieces: list[str] = []
        size = 0
        for a, b in self.regions:
            self.offsets.append(size)
            pieces.append(text[a:b])
            size += b - a + 1
        # A value is made of token characters: it never spans the separator.
        self.joined = "\0".join(pieces)

    def positions(self, word: str) -> Iterator[int]:
        """Ascending positions of ``word`` in the text within the stretches (every occurrence:
        for a word that cannot overlap itself, those are the occurrences found one after another)."""
        joined = self.joined
        at = joined.find(word)
        while at >= 0:
            k = bisect.bisect_right(self.offsets, at) - 1
            pos = self.regions[k][0] + at - self.offsets[k]
            at = joined.find(word, at + len(word))
            j = bisect.bisect_right(self.firsts, pos) - 1
            if j >= 0 and pos <= self.valid[j][1]:
                yield pos
