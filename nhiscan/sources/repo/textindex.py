"""Whether a literal occurs in a text, answered from the text's distinct runs of token characters.

Secret detectors test dozens of literals per file (prefixes, URL parts, context names); most are
absent, and each absent one costs a full pass over the text. A literal made only of token
characters can only occur inside one run of them, so it occurs in the text exactly when it occurs
in the text's *distinct* runs joined by spaces: listed, deduplicated and joined in C, a fraction of
a JSON model's or a YAML manifest's size. Case-insensitive tests use the lower-cased runs unless
the text holds one of the few characters that lower- or case-fold into ASCII token characters
(``FOLDS_TO_ASCII``: then the folded text itself is searched). A literal holding other characters
is searched in the text, once each of its pieces of token characters is found in the runs.
"""

from __future__ import annotations

import importlib
import re
import string
import sys
from typing import Any

# the regex parser (its module moved in Python 3.11)
_PARSER: Any = importlib.import_module("re._parser" if sys.version_info >= (3, 11) else "sre_parse")

# Characters a token is made of (detectors.py splits texts into runs of these).
RUN_CHARS = string.ascii_letters + string.digits + "_-.~+/"
_RUN_SET = frozenset(RUN_CHARS)
_NOT_RUN = re.compile(r"[^A-Za-z0-9_\-.~+/]+")
# Every non-ASCII character whose str.lower() or str.casefold() holds an ASCII token character
# (tests/repo/test_textindex.py recomputes the list from the running Python's Unicode tables).
FOLDS_TO_ASCII = "\u00df\u0130\u0149\u017f\u01f0\u1e96\u1e97\u1e98\u1e99\u1e9a\u1e9e\u212a\ufb00\ufb01\ufb02\ufb03\ufb04\ufb05\ufb06"
_FOLDS = re.compile(f"[{FOLDS_TO_ASCII}]")


def _run_table() -> bytes:
    out = bytearray(b" " * 256)
    for c in RUN_CHARS:
        out[ord(c)] = ord(c)
    return bytes(out)


TABLE = _run_table()
_ASCII_BYTES = bytes(range(128))
_DIGIT = re.compile(r"\d")
_DIGIT_CLASS = "\\d"
# Texts shorter than this answer literal tests by searching the text itself.
SMALL_TEXT = 16384


class TextIndex:
    """One text: its bytes translated to runs (``data``), its distinct runs, literal tests."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.data = text.encode("utf-8", "surrogatepass").translate(TABLE)
        self._others: str | None = None  # the text's non-ASCII characters (others())
        self.runs: list[bytes] = list(dict.fromkeys(self.data.split()))  # text order, once each
        self._blob: str | None = None
        self._blob_low: str | None = None
        self._lower: str | None = None
        self._casefold: str | None = None
        self._memo: dict[tuple[str, int], bool] = {}
        self._plain_fold: bool | None = None
        self._small = len(text) < SMALL_TEXT

    @property
    def blob(self) -> str:
        if self._blob is None:
            self._blob = b" ".join(self.runs).decode("ascii")
        return self._blob

    def others(self) -> str:
        """The text's characters that are not ASCII, in order (most texts have few or none)."""
        if self._others is None:
            if self.text.isascii():
                self._others = ""
            else:  # ASCII bytes are never part of a longer UTF-8 sequence: what is left decodes
                raw = self.text.encode("utf-8", "surrogatepass").translate(None, _ASCII_BYTES)
                self._others = raw.decode("utf-8", "surrogatepass")
        return self._others

    def lower(self) -> str:
        if self._lower is None:
            if self.text.isascii():  # bytes lower-case through a table: several times faster
                self._lower = self.text.encode("ascii").lower().decode("ascii")
            else:
                self._lower = self.text.lower()
        return self._lower

    def casefold(self) -> str:
        if self._casefold is None:
            # A text folds as it lower-cases when none of its characters folds otherwise (and no
            # capital sigma, which lower-cases by its context): one copy serves both.
            others = set(self.others())
            same = "\u03a3" not in others and all(c.casefold() == c.lower() for c in others)
            self._casefold = self.lower() if same else self.text.casefold()
        return self._casefold

    def contains(self, literal: str, fold: int = 0) -> bool:
        """Whether ``literal`` occurs in the text (fold 0), in ``text.lower()`` (1) or in
        ``text.casefold()`` (2)."""
        if self._small:  # a few kilobytes: searching the text costs less than building the runs
            if fold == 0:
                return literal in self.text
            return literal in (self.lower() if fold == 1 else self.casefold())
        key = (literal, fold)
        known = self._memo.get(key)
        if known is not None:
            return known
        if not literal:
            answer = True
        elif _RUN_SET.issuperset(literal):
            answer = self._in_runs(literal, fold)
        else:
            # each piece of token characters first (cheap, usually absent), then the literal
            pieces = [p for p in _NOT_RUN.split(literal) if p]
            answer = all(self._in_runs(p, fold) for p in pieces) and literal in self._haystack(fold)
        self._memo[key] = answer
        return answer

    def may_match(self, regex: re.Pattern[str]) -> bool:
        """For a ``runs_only`` regex: False when it cannot match the text, found by searching the
        text's distinct runs (a fraction of a JSON model). ``\\d`` may match a digit that is not
        ASCII, hence no run character: a regex using it answers True for a text holding one."""
        if self._small or (_DIGIT_CLASS in regex.pattern and _DIGIT.search(self.others())):
            return True
        return regex.search(self.blob) is not None

    def _haystack(self, fold: int) -> str:
        return self.text if fold == 0 else self.lower() if fold == 1 else self.casefold()

    def _in_runs(self, piece: str, fold: int) -> bool:
        if fold == 0:
            return piece in self.blob
        if self._plain_fold is None:
            self._plain_fold = self.text.isascii() or _FOLDS.search(self.text) is None
        if not self._plain_fold:
            return piece in self._haystack(fold)
        if self._blob_low is None:
            self._blob_low = self.blob.lower()
        return piece in self._blob_low


# -- regexes whose every match lies inside one run -----------------------------------------------
_RUN_CODES = frozenset(map(ord, RUN_CHARS))


def runs_only(pattern: str) -> bool:
    """Whether every match of ``pattern`` is made of run characters only (no lookaround, no
    anchor, no class that admits anything else; ``\\d`` counts, for ASCII texts: see
    ``TextIndex.may_match``). Such a regex matches the text exactly when it matches the text's
    distinct runs."""
    try:
        return _codes_in_runs(list(_PARSER.parse(pattern)))
    except (re.error, ValueError, TypeError):  # pragma: no cover - every gate regex compiles
        return False


def _codes_in_runs(items: list[Any]) -> bool:
    for op, av in items:
        name = op.name
        if name == "LITERAL":
            if av not in _RUN_CODES:
                return False
        elif name == "IN":
            for kind, arg in av:
                if kind.name == "LITERAL" and arg in _RUN_CODES:
                    continue
                if kind.name == "RANGE" and all(c in _RUN_CODES for c in range(arg[0], arg[1] + 1)):
                    continue
                if kind.name == "CATEGORY" and arg.name == "CATEGORY_DIGIT":
                    continue
                return False
        elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            if not _codes_in_runs(list(av[2])):
                return False
        elif name == "SUBPATTERN":
            if av[1] or av[2] or not _codes_in_runs(list(av[3])):  # no flag changes
                return False
        elif name == "BRANCH":
            if not all(_codes_in_runs(list(branch)) for branch in av[1]):
                return False
        else:
            return False
    return True
