"""One candidate line through detect-secrets' plugins and secret filters, in time linear in its length.

detect-secrets' ``_scan_line`` and its filters re-read the whole line for every candidate secret
(the allowlist filter; ``is_likely_id_string``'s ``line.index`` and prefix search), and its keyword
plugin keeps only the first assignment of each form on a line. On minified files and one-line
dumps that is quadratic and blind. :class:`LineAnalyzer` gives the same answers (the keyword
plugin: every assignment) with per-line facts computed once (:class:`LineState`).
"""

from __future__ import annotations

import collections
import functools
import math
import re
from collections.abc import Iterable, Iterator
from typing import Any


class LineState:
    """Per-line facts computed once, so that each candidate secret costs O(its own length).

    detect-secrets' ``is_likely_id_string`` looks for an id-like name (``_id=``, ``userid:``...)
    anywhere in the line before the secret's first occurrence: ``line.index(secret)`` and a regex
    search of that prefix, per secret, which is quadratic on a long line with many secrets. The
    answer is "the first id-like match ends at or before the secret's first occurrence", and where
    that first match ends is one search per line (``id_end``).
    """

    def __init__(self, line: str) -> None:
        self.line = line
        self._id_end: int | None = -1
        # What the exact "does the value occur before id_end" checks may still cost on this line:
        # substrings made (for sets of them), characters searched.
        self.gram_budget = 8 * len(line) + 4096
        self.find_budget = 4 * len(line) + 4096
        self.grams: dict[int, set[str]] = {}
        self.memo: dict[str, bool] = {}

    @property
    def id_end(self) -> int | None:
        if self._id_end == -1:
            from detect_secrets.filters.heuristic import _get_id_detector_regex

            m = _get_id_detector_regex().search(self.line)
            self._id_end = m.end() if m else None
        return self._id_end


_ID_FILTER = "detect_secrets.filters.heuristic.is_likely_id_string"
_SECRET_ONLY = frozenset({"secret"})
# Values up to this long are looked up in sets of substrings; longer ones are searched for.
_GRAM_MAX = 128


class LineAnalyzer:
    """One plugin on one line, as detect-secrets' ``_scan_line`` plus its secret filters, linear.

    * KeywordDetector reports every assignment on the line, not only the first of each form
      (detect-secrets searches once per regex: on a minified file all secrets but one were lost);
    * the high-entropy plugins report each quoted run with its position;
    * the line filter (``is_line_allowlisted``) already ran once for the line: it is not re-run for
      every secret (it reads the whole line each time);
    * ``is_likely_id_string`` is answered from :class:`LineState`; other secret filters are called
      directly with the arguments they take.
    Regex-based plugins (every other one) run as detect-secrets runs them.
    """

    def __init__(self) -> None:
        from detect_secrets.core.scan import get_filters_with_parameter
        from detect_secrets.plugins.base import RegexBasedDetector
        from detect_secrets.plugins.high_entropy_strings import HighEntropyStringsPlugin
        from detect_secrets.plugins.keyword import (
            DENYLIST_REGEX,
            QUOTES_REQUIRED_DENYLIST_REGEX_TO_GROUP,
            REGEX_BY_FILETYPE,
            KeywordDetector,
        )
        from detect_secrets.util.filetype import determine_file_type
        from detect_secrets.util.inject import call_function_with_arguments

        self._regex_based: type = RegexBasedDetector
        self._entropy: Any = HighEntropyStringsPlugin
        self._keyword: type = KeywordDetector
        self._denylist = str(DENYLIST_REGEX)
        self._keyword_default: dict[re.Pattern[str], int] = QUOTES_REQUIRED_DENYLIST_REGEX_TO_GROUP
        self._keyword_by_type: dict[Any, dict[re.Pattern[str], int]] = REGEX_BY_FILETYPE
        self._file_type = determine_file_type
        self._call = call_function_with_arguments
        filters = get_filters_with_parameter("secret")
        self._id_filter = any(f.path == _ID_FILTER for f in filters)
        others = [f for f in filters if f.path != _ID_FILTER]
        # Filters of the value alone (all of detect-secrets' own but the id one) are called directly.
        self._value_filters = [f for f in others if frozenset(f.injectable_variables) == _SECRET_ONLY]
        self._filters = [
            (f, frozenset(f.injectable_variables)) for f in others if f not in self._value_filters
        ]

    def secrets(
        self, plugin: Any, filename: str, line: str, number: int, context: Any, state: LineState
    ) -> Iterator[tuple[str, str]]:
        """(secret type, value) of each secret the plugin reports on the line and no filter drops."""
        seen: set[str] = set()
        for value, pos in self._candidates(plugin, filename, line, number, context):
            if value in seen:
                continue
            seen.add(value)
            if self._dropped(plugin, filename, line, context, value, pos, state):
                continue
            yield str(plugin.secret_type), value

    def _candidates(
        self, plugin: Any, filename: str, line: str, number: int, context: Any
    ) -> Iterator[tuple[str, int | None]]:
        if isinstance(plugin, self._keyword):
            keyword: Any = plugin
            if keyword.keyword_exclude and keyword.keyword_exclude.search(line):
                return
            regexes = self._keyword_by_type.get(self._file_type(filename), self._keyword_default)
            starts = None if len(line) < _ANCHOR_FROM else _keyword_starts(line)
            for regex, group in regexes.items():
                if starts is not None and regex.pattern.startswith(self._denylist):
                    matches: Iterable[re.Match[str]] = _anchored(regex, line, starts)
                else:
                    matches = regex.finditer(line)
                for m in matches:
                    yield m.group(group), m.start(group)
        elif isinstance(plugin, self._entropy):
            entropy: Any = plugin
            limit = float(entropy.entropy_limit)
            charset = str(entropy.charset)
            own = type(entropy).calculate_shannon_entropy is not self._entropy.calculate_shannon_entropy
            distinct = _min_distinct(limit)
            for m in entropy.regex.finditer(line):
                value = m.group(2)
                if len(set(value)) < distinct:
                    continue  # its entropy is at most log2 of its distinct characters: not over
                # The hex plugin adjusts all-digit values in its own method: use it (16 characters).
                if (entropy.calculate_shannon_entropy(value) if own else _shannon(charset, value)) > limit:
                    yield value, m.start(2)
        else:
            found = self._call(
                plugin.analyze_line, filename=filename, line=line, line_number=number, context=context
            )
            for secret in found or ():
                yield str(secret.secret_value), None

    def _dropped(
        self,
        plugin: Any,
        filename: str,
        line: str,
        context: Any,
        value: str,
        pos: int | None,
        state: LineState,
    ) -> bool:
        if self._id_filter and not isinstance(plugin, self._regex_based) and _likely_id(value, pos, state):
            return True
        for fn in self._value_filters:
            if fn(secret=value):
                return True
        if not self._filters:
            return False
        args = {"filename": filename, "secret": value, "plugin": plugin, "line": line, "context": context}
        return any(
            params <= args.keys() and fn(**{k: args[k] for k in params}) for fn, params in self._filters
        )


# Lines from this long on find the keyword plugin's matches from its keywords' positions (the
# documentation strings of a JSON model are hundreds of characters long).
_ANCHOR_FROM = 256
# Every keyword of the keyword plugin (api_?key, db_?pass, password, pwd, secret, contraseña...)
# contains one of these stems, at most this many characters after the keyword's start.
_KEYWORD_STEMS = ("key", "pass", "pwd", "secret", "contrase")
_STEM_OFFSET = 9


def _keyword_starts(line: str) -> list[int] | None:
    """Every position at which one of the keyword plugin's keywords may start, ascending.

    Found with C-speed substring searches of the lower-cased line, instead of a case-insensitive
    regex tried at every position (10 MB/s, times each of the plugin's regexes). None when
    lower-casing changes the line's length (then positions would not line up).
    """
    low = line.lower()
    if len(low) != len(line):
        return None
    near: set[int] = set()
    for stem in _KEYWORD_STEMS:
        pos = low.find(stem)
        while pos >= 0:
            near.update(range(max(0, pos - _STEM_OFFSET), pos + 1))
            pos = low.find(stem, pos + 1)
    keyword = _keyword_regex()
    return [start for start in sorted(near) if keyword.match(line, start)]


@functools.lru_cache(maxsize=1)
def _keyword_regex() -> re.Pattern[str]:
    from detect_secrets.plugins.keyword import DENYLIST

    return re.compile("|".join(DENYLIST), re.IGNORECASE)


def _anchored(regex: re.Pattern[str], line: str, starts: list[int]) -> Iterator[re.Match[str]]:
    """What ``regex.finditer(line)`` yields, for a regex that can only match from ``starts``."""
    floor = 0
    for start in starts:
        if start < floor:
            continue
        m = regex.match(line, start)
        if m is not None:
            yield m
            floor = m.end() if m.end() > start else start + 1


@functools.lru_cache(maxsize=8)
def _min_distinct(limit: float) -> int:
    from nhiscan.sources.repo.prefilter import min_distinct

    return min_distinct(limit)


def _shannon(charset: str, data: str) -> float:
    """The high-entropy plugins' calculate_shannon_entropy, bit for bit (same terms, same order),
    counting the value once instead of once per charset character."""
    counts = collections.Counter(data)
    n = len(data)
    entropy = 0.0
    order = _charset_order(charset)
    for x in sorted(counts, key=order.__getitem__):
        p_x = float(counts[x]) / n
        entropy += -p_x * math.log(p_x, 2)
    return entropy


@functools.lru_cache(maxsize=8)
def _charset_order(charset: str) -> dict[str, int]:
    return {c: i for i, c in enumerate(charset)}


def _likely_id(value: str, pos: int | None, state: LineState) -> bool:
    """detect-secrets' is_likely_id_string for a non-regex plugin, in O(len(value)) amortised.

    True when an id-like name ends at or before the value's first occurrence on the line. Found at
    ``pos``: if the name ends after ``pos``, the first occurrence (at or before ``pos``) is before
    it. Otherwise the question is whether the value also occurs starting before the name's end:
    answered from the set of that prefix's substrings of the value's length (made once per length
    and line), or for long values by a search of the prefix. Both are bounded per line by a few
    times the line's length (``LineState``); past that, the value is kept (reported, never lost).
    """
    end = state.id_end
    if end is None:
        return False
    if pos is not None and pos < end:
        return False
    known = state.memo.get(value)
    if known is not None:
        return known
    line = state.line
    n = len(value)
    answer: bool | None = None
    if pos is not None and n <= _GRAM_MAX:
        grams = state.grams.get(n)
        if grams is None and state.gram_budget >= end:
            state.gram_budget -= end
            grams = state.grams[n] = {line[i : i + n] for i in range(end)}
        if grams is not None:
            answer = value not in grams
    if answer is None:
        cost = len(line) if pos is None else end + n
        if state.find_budget < cost:
            return False
        state.find_budget -= cost
        first = line.find(value) if pos is None else line.find(value, 0, end + n - 1)
        answer = first >= end if pos is None else first < 0
    state.memo[value] = answer
    return answer
