"""nhiscan's credential detector catalogue (rules/detectors/*.yaml): loading, validation, scanning.

Each detector is written from a vendor's documented token format and says what a leak means
(provider, category, severity, which non-human identity). Three kinds:

* ``prefixes``: the token starts with a literal (``ghp_``, ``hvs.``, ``AKIA``...);
* ``keywords``: a literal that must occur in the text for the regex to be tried (URLs, infixes
  such as ``.atlasv1.``); an all-lowercase word is compared case-insensitively;
* ``context``: values without a prefix (a 32-character hex Datadog key): the value must follow a
  credential-like name (``context.names``) in an assignment of any syntax.

Scanning a text costs one byte translation and split into runs of token characters (C speed);
prefix detectors are picked by a dictionary lookup of each long run's first two characters and
context detectors by the run's length and shape, so a file without any candidate costs no regex
at all. Only picked detectors run their regex (literal-prefixed: fast), and only near the values
that picked them for context detectors.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import functools
import itertools
import re
import string
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from nhiscan.errors import NhiscanError
from nhiscan.sources.repo.near_names import (
    FindAll,
    NameStretches,
    context_matches,
    context_starts,
    fold_safe,
    name_stem,
    occurrences,
    overlaps_itself,
    stem_offset,
)
from nhiscan.sources.repo.textindex import RUN_CHARS, TextIndex

CATEGORIES = {
    "cloud-key": "cloud-key",
    "vcs-token": "token",
    "ci-token": "token",
    "registry-token": "token",
    "api-token": "token",
    "chat-token": "token",
    "webhook": "token",
    "payment-key": "token",
    "observability-key": "token",
    "ai-key": "token",
    "secret-manager-token": "token",
    "database-credential": "token",
    "private-key": "private-key",
    "password": "generic",
}
SEVERITIES = ("critical", "high", "medium", "low")
CHECKSUMS = ("github-crc32", "base64-jwt", "base64-private-key", "base64-userpass")
_KEYS = {
    "id", "name", "service", "provider", "category", "severity", "nhi", "regex", "prefixes",
    "keywords", "context", "checksum", "secret_group", "examples", "bounded",
}  # fmt: skip
_REQUIRED = ("id", "name", "category", "severity", "nhi", "regex", "examples")

# Characters a token is made of: the run split keeps these, and a match must not continue into them.
_RUN_CHARS = RUN_CHARS
_MIN_RUN = 12
_LEFT = r"(?<![A-Za-z0-9_\-])"
_RIGHT = r"(?![A-Za-z0-9_\-])"
# How a value follows a credential-like name: ``name = v``, ``name: v``, ``"name" => 'v'``,
# ``name := v``, ``NAME ?= v``, ``<name>v``, ``<add key="name" value="v"/>``, ``--name v``...
_ASSIGN = (
    r"""[\w.\-]{0,30}?[\s"'`\]]{0,3}(?:[?:+!]?=|:=?|=>|,|>|\(|\s)(?:\s*value\s*=\s*["']|[\s"'`=(]{0,8})"""
)
_CONTEXT_WINDOW = 120


@dataclass(frozen=True)
class Example:
    value: str
    positive: bool
    key: str | None = None
    why: str = ""

    def render(self) -> str:
        """The example as a line of text (``key = "value"`` when it names a key)."""
        return f'{self.key} = "{self.value}"' if self.key else self.value


@dataclass(frozen=True)
class Detector:
    id: str
    name: str
    service: str | None
    provider: str | None
    category: str
    severity: str
    nhi: str
    source: str  # the regex the scan runs (the file's, bounded or with its context around it)
    prefixes: tuple[str, ...]
    keywords: tuple[str, ...]
    names: tuple[str, ...]
    value_source: str | None  # context detectors: the value's own shape
    group: int
    checksum: str | None
    examples: tuple[Example, ...]
    bounded: bool = False

    # Compiled on first use: a scan runs a few of the catalogue's regexes (those its prefilter
    # picks), and compiling all of them cost every run more than the scan of a small repository.
    @functools.cached_property
    def regex(self) -> re.Pattern[str]:
        return re.compile(self.source)

    @functools.cached_property
    def value(self) -> re.Pattern[str] | None:
        return None if self.value_source is None else re.compile(self.value_source)

    @property
    def rule_category(self) -> str:
        return CATEGORIES[self.category]

    def valid(self, value: str) -> bool:
        return self.checksum is None or _CHECKS[self.checksum](self, value)


# -- checksums ------------------------------------------------------------------------------------
_B62 = string.digits + string.ascii_uppercase + string.ascii_lowercase


def base62(n: int, width: int = 6) -> str:
    out = ""
    while n:
        n, r = divmod(n, 62)
        out = _B62[r] + out
    return out.rjust(width, "0")


def github_checksum_ok(token: str) -> bool:
    """GitHub's token format: prefix, 30 random base62 characters, then the CRC32 of those 30
    characters in base62 (6 characters, zero-padded)."""
    body = token.split("_", 1)[-1]
    if len(body) != 36:
        return False
    return base62(zlib.crc32(body[:30].encode("ascii"))) == body[30:]


def _b64(value: str) -> bytes | None:
    try:
        return base64.b64decode(value + "=" * (-len(value) % 4), validate=False)
    except (binascii.Error, ValueError):
        return None


def _jwt_ok(_: Detector, value: str) -> bool:
    raw = _b64(value)
    if raw is None:
        return False
    return re.match(rb"eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}", raw) is not None


def _pem_ok(_: Detector, value: str) -> bool:
    raw = _b64(value[: 4 * (len(value) // 4)] if len(value) > 64 else value)
    return raw is not None and b"PRIVATE KEY" in raw[:80]


def _userpass_ok(_: Detector, value: str) -> bool:
    raw = _b64(value)
    if raw is None:
        return False
    user, sep, password = raw.partition(b":")
    return bool(sep and user and len(password) >= 3 and raw.isascii() and raw.decode().isprintable())


_CHECKS: dict[str, Any] = {
    "github-crc32": lambda _d, v: github_checksum_ok(v),
    "base64-jwt": _jwt_ok,
    "base64-private-key": _pem_ok,
    "base64-userpass": _userpass_ok,
}


# -- loading --------------------------------------------------------------------------------------
def detectors_dir() -> Path:
    from nhiscan.analyze.rules import rules_dir

    return rules_dir() / "detectors"


def _fail(where: str, message: str) -> NhiscanError:
    return NhiscanError(f"{where}: {message}")


def parse_detector(data: Any, where: str) -> Detector:
    if not isinstance(data, dict):
        raise _fail(where, "a detector must be a mapping")
    unknown = sorted(set(map(str, data)) - _KEYS)
    if unknown:
        raise _fail(where, f"unknown key(s): {', '.join(unknown)}")
    for key in _REQUIRED:
        if not data.get(key):
            raise _fail(where, f"'{key}' is required")
    did = str(data["id"])
    where = f"{where} ({did})"
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", did):
        raise _fail(where, "id must be lowercase letters, digits and '-'")
    category = str(data["category"])
    if category not in CATEGORIES:
        raise _fail(where, f"category must be one of {', '.join(CATEGORIES)}")
    severity = str(data["severity"])
    if severity not in SEVERITIES:
        raise _fail(where, f"severity must be one of {', '.join(SEVERITIES)}")
    checksum = data.get("checksum")
    if checksum is not None and checksum not in CHECKSUMS:
        raise _fail(where, f"checksum must be one of {', '.join(CHECKSUMS)}")
    source = str(data["regex"])
    try:
        value_re = re.compile(source)
    except re.error as exc:
        raise _fail(where, f"invalid regex: {exc}") from None
    context = data.get("context")
    names: tuple[str, ...] = ()
    prefixes = tuple(str(p) for p in data.get("prefixes") or ())
    keywords = tuple(str(k) for k in data.get("keywords") or ())
    group = int(data.get("secret_group", 0))
    if context is not None:
        if not isinstance(context, dict) or not context.get("names"):
            raise _fail(where, "context needs a list of names")
        names = tuple(str(n).lower() for n in context["names"])
        alternation = "|".join(
            re.escape(n).replace("\\_", "[_\\-.]?").replace("\\-", "[_\\-.]?") for n in names
        )
        full = f"(?i:{alternation}){_ASSIGN}{_LEFT}({source}){_RIGHT}"
        group = 1
    else:
        if not prefixes and not keywords:
            raise _fail(where, "a detector needs prefixes, keywords or a context")
        bounded = bool(data.get("bounded", group == 0))
        # The right boundary is checked after a match (``_ends_token``), not in the regex: a failed
        # lookahead would make the regex retry every shorter run, and every later prefix inside the
        # same run, which is quadratic on a long run of token characters.
        full = f"{_LEFT}(?:{source})" if bounded else source
    try:
        regex = re.compile(full)
    except re.error as exc:
        raise _fail(where, f"invalid regex: {exc}") from None
    if group > regex.groups:
        raise _fail(where, "secret_group names a group the regex does not have")
    examples: list[Example] = []
    for ex in data["examples"]:
        if not isinstance(ex, dict) or ("positive" in ex) == ("negative" in ex):
            raise _fail(where, "each example is {positive: value} or {negative: value, why: ...}")
        positive = "positive" in ex
        examples.append(
            Example(
                str(ex["positive" if positive else "negative"]),
                positive,
                ex.get("key"),
                str(ex.get("why", "")),
            )
        )
    if not any(e.positive for e in examples) or all(e.positive for e in examples):
        raise _fail(where, "needs at least one positive and one negative example")
    det = Detector(
        id=did,
        name=str(data["name"]),
        service=data.get("service"),
        provider=data.get("provider"),
        category=category,
        severity=severity,
        nhi=str(data["nhi"]),
        source=full,
        prefixes=prefixes,
        keywords=keywords,
        names=names,
        value_source=source if names else None,
        group=group,
        checksum=checksum,
        examples=tuple(examples),
        bounded=not names and bool(data.get("bounded", group == 0)),
    )
    # validated by compiling them: keep the compiled forms (the cached properties' values)
    det.__dict__["regex"] = regex
    det.__dict__["value"] = value_re if names else None
    return det


@functools.lru_cache(maxsize=4)
def load_detectors(directory: Path | None = None) -> tuple[Detector, ...]:
    """Every detector of the catalogue, validated. Raises NhiscanError naming the file and detector.

    The bundled catalogue comes from its precompiled form (detectors_data.py) when that was built
    from exactly these files (same digest), else from the files themselves."""
    if directory is None:
        from nhiscan.sources.repo import detectors_cache

        cached = detectors_cache.load(detectors_dir())
        if cached is not None:
            return cached
    return read_detectors(directory or detectors_dir())


def read_detectors(base: Path) -> tuple[Detector, ...]:
    """The catalogue in the YAML files of ``base``, each detector validated."""
    out: dict[str, Detector] = {}
    for path in sorted(base.glob("*.yaml")):
        try:
            data = yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)
        except yaml.YAMLError as exc:
            raise NhiscanError(f"{path}: invalid YAML: {exc}") from None
        if not isinstance(data, dict) or not isinstance(data.get("detectors"), list):
            raise NhiscanError(f"{path}: expected a mapping with a 'detectors' list")
        for n, entry in enumerate(data["detectors"], start=1):
            det = parse_detector(entry, f"{path} detector {n}")
            if det.id in out:
                raise NhiscanError(f"{path}: duplicate detector id {det.id!r}")
            out[det.id] = det
    return tuple(out[k] for k in sorted(out))


def detector_by_id(did: str) -> Detector | None:
    return {d.id: d for d in load_detectors()}.get(did)


# libyaml's safe loader when PyYAML has it (every scan process loads the catalogue).
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

TYPE_PREFIX = "nhiscan:"  # RawSecret.type of a catalogue finding: "nhiscan:<detector id>"


# -- scanning -------------------------------------------------------------------------------------
_TOKEN_CHARS = frozenset(string.ascii_letters + string.digits + "_-")


@dataclass(frozen=True)
class Hit:
    detector: Detector
    line: int
    value: str


class CatalogueScanner:
    """Runs every detector of the catalogue over a text with one shared prefilter pass."""

    def __init__(self, detectors: tuple[Detector, ...] | None = None) -> None:
        self.detectors = detectors if detectors is not None else load_detectors()
        self._by2: dict[bytes, list[tuple[bytes, Detector]]] = {}
        self._infix: list[tuple[str, bool, Detector]] = []
        self._ctx_len: dict[int, list[Detector]] = {}
        self._ctx_names: list[tuple[str, Detector]] = []
        self._stems = {det.id: _name_stems(det) for det in self.detectors if det.names}
        self._stem_offset = {det.id: stem_offset(det.names) for det in self.detectors if det.names}
        run = set(_RUN_CHARS)
        for det in self.detectors:
            for p in det.prefixes:
                if len(p) >= 2 and set(p) <= run:
                    self._by2.setdefault(p[:2].encode(), []).append((p.encode(), det))
                else:
                    self._infix.append((p, False, det))
            for k in det.keywords:
                self._infix.append((k, k.isalpha() and k.islower(), det))
            if det.names:
                lengths = _value_lengths(det)
                if lengths is None:
                    self._ctx_names.extend((stem, det) for stem in _name_stems(det))
                else:
                    for n in lengths:
                        self._ctx_len.setdefault(n, []).append(det)

    def scan(self, text: str, index: TextIndex | None = None) -> list[Hit]:
        if not text:
            return []
        ix = index if index is not None and index.text is text else TextIndex(text)
        picked: dict[str, Detector] = {}
        values: dict[str, tuple[Detector, set[str]]] = {}
        by2 = self._by2
        ctx_len = self._ctx_len
        # Each distinct run of token characters once (listed and deduplicated in C, first
        # occurrences in text order): a JSON model repeats its long names thousands of times.
        # the runs of at least _MIN_RUN characters, picked in C
        for run in itertools.compress(ix.runs, map((_MIN_RUN - 1).__lt__, map(len, ix.runs))):
            cands = by2.get(run[:2])
            if cands is not None:
                for prefix, det in cands:
                    if run.startswith(prefix):
                        picked[det.id] = det
            dets = ctx_len.get(len(run))
            if dets is not None:
                word = run.decode("ascii")
                for det in dets:
                    assert det.value is not None
                    if det.value.fullmatch(word):
                        values.setdefault(det.id, (det, set()))[1].add(word)
        low: str | None = None

        def occurs(literal: str, fold: bool) -> bool:
            return ix.contains(literal, 1 if fold else 0)

        # Detectors picked by a keyword: searched only around the keyword's occurrences.
        around: dict[str, tuple[Detector, list[tuple[str, bool]]]] = {}
        for literal, fold, det in self._infix:
            if det.id not in picked and occurs(literal, fold):
                around.setdefault(det.id, (det, []))[1].append((literal, fold))
        for stem, det in self._ctx_names:
            if occurs(stem, True):
                around.setdefault(det.id, (det, []))[1].append((stem, True))
        hits: list[Hit] = []
        lines = _Lines(text)
        stem_at: dict[str, list[int]] = {}  # a stem's positions in the lower-cased text, found once

        def at(stem: str) -> list[int]:
            found = stem_at.get(stem)
            if found is None:
                assert low is not None
                # a stem absent from the text's runs costs no pass over the text
                found = stem_at[stem] = occurrences(low, stem) if ix.contains(stem, 1) else []
            return found

        for det in picked.values():
            literals = [(p, False) for p in det.prefixes]
            for lo, hi in _windows(text, None, literals) if literals else [(0, len(text))]:
                hits.extend(self._matches(det, text, lo, hi, lines))
        for did, (det, literals) in around.items():
            if did in picked:
                continue
            if (det.names or any(fold for _, fold in literals)) and low is None:
                low = ix.lower()
            folded = low if low is not None and len(low) == len(text) else None
            windows = _windows(text, folded, literals)
            if det.names and folded is not None and fold_safe(text):
                hits.extend(self._context_matches(det, text, folded, windows, lines, at))
                continue
            for lo, hi in windows:
                hits.extend(self._matches(det, text, lo, hi, lines))
        for det, words in values.values():
            if det.id in picked:
                continue
            if not any(occurs(stem, True) for stem in self._stems[det.id]):
                continue  # none of its names is in the text: the value cannot follow one
            if low is None:
                low = ix.lower()
            if len(low) == len(text):
                hits.extend(self._near_words(det, words, text, low, lines, at))
                continue
            for word in words:
                hits.extend(self._near(det, word, text, lines))
        return hits

    def _context_matches(
        self,
        det: Detector,
        text: str,
        low: str,
        windows: list[tuple[int, int]],
        lines: _Lines,
        at: FindAll | None = None,
    ) -> Iterator[Hit]:
        """The regex over every window, tried only where a name can start (near_names.py)."""
        starts = context_starts(low, self._stems[det.id], self._stem_offset[det.id], at)
        for m in context_matches(det.regex, text, starts, windows):
            yield from self._hit(det, m, lines)

    def _near_words(
        self, det: Detector, words: set[str], text: str, low: str, lines: _Lines, at: FindAll | None = None
    ) -> Iterator[Hit]:
        """``_near`` for every word, each searched only in the stretches just after a name's stem
        (near_names.py); a word that can overlap itself keeps ``_near``."""
        longest = max(map(len, words))
        stretches = NameStretches(text, low, self._stems[det.id], _CONTEXT_WINDOW, longest, at)
        for word in words:
            if overlaps_itself(word):
                yield from self._near(det, word, text, lines)
                continue
            for pos in stretches.positions(word):
                yield from self._value_at(det, word, pos, text, lines)

    def _matches(self, det: Detector, text: str, lo: int, hi: int, lines: _Lines) -> Iterator[Hit]:
        for m in det.regex.finditer(text, lo, hi):
            if det.bounded and m.end() < len(text) and text[m.end()] in _TOKEN_CHARS:
                continue  # the run goes on: a longer (or other) token, not this format
            yield from self._hit(det, m, lines)

    def _hit(self, det: Detector, m: re.Match[str], lines: _Lines) -> Iterator[Hit]:
        value = m.group(det.group)
        if value and det.valid(value):
            yield Hit(det, lines.number(m.start(det.group)), value)

    def _near(self, det: Detector, word: str, text: str, lines: _Lines) -> Iterator[Hit]:
        stems = self._stems[det.id]
        pos = text.find(word)
        while pos >= 0:
            lo = max(0, pos - _CONTEXT_WINDOW)
            before = text[lo:pos].lower()
            if not any(stem in before for stem in stems):
                pos = text.find(word, pos + len(word))
                continue  # no name just before this occurrence
            yield from self._value_at(det, word, pos, text, lines)
            pos = text.find(word, pos + len(word))

    def _value_at(self, det: Detector, word: str, pos: int, text: str, lines: _Lines) -> Iterator[Hit]:
        """The detector's match whose value starts at ``pos``, searched from a name before it."""
        lo = max(0, pos - _CONTEXT_WINDOW)
        for m in det.regex.finditer(text, lo, pos + len(word) + 1):
            if m.start(det.group) == pos:
                yield from self._hit(det, m, lines)
                break


# How far before and after a keyword a keyword-picked token may start and end.
_BEFORE = 320
_AFTER = 4096


def _windows(text: str, low: str | None, literals: list[tuple[str, bool]]) -> list[tuple[int, int]]:
    """The text around every occurrence of the literals, overlapping stretches merged (so each
    character is searched at most once per detector, however dense the keyword)."""
    spans: list[tuple[int, int]] = []
    n = len(text)
    for literal, fold in literals:
        if fold and low is None:
            return [(0, n)]  # lower-casing moved positions: search everything
        haystack = low if fold and low is not None else text
        pos = haystack.find(literal)
        while pos >= 0:
            spans.append((max(0, pos - _BEFORE), min(n, pos + len(literal) + _AFTER)))
            pos = haystack.find(literal, pos + 1)
    spans.sort()
    merged: list[tuple[int, int]] = []
    for lo, hi in spans:
        if merged and lo <= merged[-1][1]:
            if hi > merged[-1][1]:
                merged[-1] = (merged[-1][0], hi)
        else:
            merged.append((lo, hi))
    return merged


def _name_stems(det: Detector) -> tuple[str, ...]:
    """The longest word of each context name: it occurs wherever the name does, whatever separator
    (or none) joins the name's words."""
    return tuple(sorted({name_stem(n) for n in det.names}))


def _value_lengths(det: Detector) -> tuple[int, ...] | None:
    """The lengths a context detector's value can have, when every character of it is a run
    character (else None: the detector is picked by its names)."""
    assert det.value_source is not None
    src = det.value_source  # its source: the regex itself is compiled only if a scan needs it
    if re.search(r"[:!=@]", src.replace("\\-", "")):
        return None
    total_lo = total_hi = 0
    for m in re.finditer(r"\[[^\]]+\]\{(\d+)(?:,(\d+))?\}|((?:\\.|[^\[\\])+?)(?=\[|$)", src):
        if m.group(1):
            lo = int(m.group(1))
            hi = int(m.group(2) or lo)
            total_lo += lo
            total_hi += hi
        else:
            literal = re.sub(r"\\(.)", r"\1", m.group(3))
            total_lo += len(literal)
            total_hi += len(literal)
    if total_hi - total_lo > 64 or total_lo < _MIN_RUN:
        return None
    return tuple(range(total_lo, total_hi + 1))


class _Lines:
    def __init__(self, text: str) -> None:
        self._text = text
        self._starts: list[int] | None = None

    def number(self, pos: int) -> int:
        if self._starts is None:
            starts = [0]
            find = self._text.find
            nl = find("\n")
            while nl >= 0:
                starts.append(nl + 1)
                nl = find("\n", nl + 1)
            self._starts = starts
        return bisect.bisect_right(self._starts, pos)


def catalogue_table(detectors: tuple[Detector, ...] | None = None) -> str:
    """The Markdown table of every detector (docs/detectors.md holds it; a test compares)."""
    rows = ["| id | credential | provider | category | severity |", "|---|---|---|---|---|"]
    for d in detectors if detectors is not None else load_detectors():
        rows.append(f"| `{d.id}` | {d.name} | {d.provider or '-'} | {d.category} | {d.severity} |")
    return "\n".join(rows) + "\n"
