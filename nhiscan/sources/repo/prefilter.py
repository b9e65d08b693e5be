"""Which lines of a text each detect-secrets plugin can fire on, found with whole-text passes.

A gate states a necessary condition for some plugins to report anything on a line, as a regex
searched over the whole text (C speed) behind literals it needs (substring tests): a line no gate
matches is never shown to the plugins, and a line a gate matches is shown only to that gate's
plugins. Each plugin then still judges the line itself, exactly as detect-secrets would: gates may
let through more than a plugin finds, never less (``tests/repo/test_engine.py`` compares every
finding with plain detect-secrets).

* Regex plugins: a gate built from the plugin's own patterns (a literal prefix, the assignment
  form its ``build_assignment_regex`` patterns share, its keywords).
* High-entropy plugins: a quoted maximal run of the plugin's charset, long enough and with enough
  distinct characters that its Shannon entropy *can* exceed the limit (entropy never exceeds the
  log2 of the number of distinct characters). Found in the text's bytes translated to run /
  quote / other classes, so a JSON service model's thousands of quoted names cost one C pass and a
  set of bytes each.
"""

from __future__ import annotations

import collections
import math
import re
import string
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from nhiscan.sources.repo.textindex import TextIndex, runs_only

_KEYWORDS = (
    "api_?key|auth_?key|service_?key|account_?key|db_?key|database_?key|priv_?key|private_?key|"
    "client_?key|db_?pass|database_?pass|key_?pass|password|passwd|pwd|secret|contraseña|contrasena"
)

# The assignment form of detect-secrets' ``build_assignment_regex`` (Cloudant, IBM Cloud IAM, IBM COS
# HMAC, SoftLayer): a keyword ending in key/pwd/pw/password/pass/token, an optional quote and
# bracket, spaces and one of = : := => :: (or spaces), an optional quote, then the value: at least
# 24 characters of [a-z0-9_-] (case-folded) for every one of those plugins.
_ASSIGNED = r"[\"'\]]{0,2}[ =:>]+[\"']?[a-z0-9_\-]{24}"
_AWS_ASSIGNED = r"aws.{0,20}?(?:key|pwd|pw|password|pass|token).{0,20}?['\"][0-9a-z/+]{40}['\"]"

# Necessary conditions for detect-secrets' own plugins, line by line: (regex, applies to case-folded
# text). Each regex matches inside any line on which the plugin can report something, and never
# spans a line break. A plugin missing here and without a gate is run on every line (correct, just
# slower).
_DS_HINTS: dict[str, tuple[tuple[str, bool], ...]] = {
    "ArtifactoryDetector": ((r"AKC[a-zA-Z0-9]{10}|AP[\dABCDEF][a-zA-Z0-9]{8}", False),),
    "AWSKeyDetector": (
        (r"(?:A3T[A-Z0-9]|ABIA|ACCA|AKIA|ASIA)[0-9A-Z]{16}", False),
        (r"['\"][0-9a-zA-Z/+]{40}['\"]", False),
    ),
    "AzureStorageKeyDetector": ((r"AccountKey=", False),),
    "BasicAuthDetector": ((r"://[^{}\s]+:[^{}\s]+@", False),),
    "CloudantDetector": ((r"(?<![0-9a-z])(?:[0-9a-f]{64}|[a-z]{24})", True),),
    "DiscordBotTokenDetector": ((r"\.[a-zA-Z\d_-]{6}\.[a-zA-Z\d_-]{27}", False),),
    "GitHubTokenDetector": ((r"gh[pousr]_[A-Za-z0-9_]{36}", False),),
    "GitLabTokenDetector": ((r"gl(?:pat|dt|ft|soat|rt|cbt|imt|ptt|agent|oas)-|GR1348941", False),),
    "IbmCloudIamDetector": ((r"(?<![a-z0-9_\-])[a-z0-9_\-]{44}", True),),
    "IbmCosHmacDetector": ((r"(?<![a-f0-9])[a-f0-9]{48}", True),),
    "IPPublicDetector": ((r"\.\d{1,3}\.\d{1,3}\.", False),),
    "JwtTokenDetector": ((r"eyJ", False),),
    "KeywordDetector": ((_KEYWORDS, True),),
    "MailchimpDetector": ((r"-us\d", False),),
    "NpmDetector": ((r":_authToken=", False),),
    "OpenAIDetector": ((r"T3BlbkFJ", False),),
    "PrivateKeyDetector": ((r"PRIVATE KEY|PuTTY-User-Key-File-2", False),),
    "PypiTokenDetector": ((r"pypi-AgE", False),),
    "SendGridDetector": ((r"SG\.", False),),
    "SlackDetector": ((r"xox[abposr]-|hooks\.slack\.com", True),),
    "SoftlayerDetector": ((r"(?<![a-z0-9])[a-z0-9]{64}", True),),
    "SquareOAuthDetector": ((r"sq0csp-", False),),
    "StripeDetector": ((r"[rs]k_live_", False),),
    "TelegramBotTokenDetector": ((r":[0-9A-Za-z_-]{35}", False),),
    "TwilioKeyDetector": ((r"(?:AC|SK)[a-z0-9]{32}", False),),
}

_GITLAB = ("glpat-", "gldt-", "glft-", "glsoat-", "glrt-", "glcbt-", "glimt-", "glptt-", "glagent-", "gloas-")

# The whole-text gates: (alternatives, case-folded, plugins covered). Each alternative is a literal
# that every match of its regex holds and the regex (starting with the literal where it can: the
# regex engine then skips to the literal's occurrences); it is only searched when its literal
# occurs in the text (TextIndex). Matches mark candidate lines for the gate's plugins, which then
# check their own hints above on those lines only.
_Alternatives = tuple[tuple[str, str], ...]
_BUILTIN_GATES: tuple[tuple[_Alternatives, bool, tuple[str, ...]], ...] = (
    (
        (
            ("A3T", r"A3T[A-Z0-9][0-9A-Z]{16}"),
            *tuple((p, p + r"[0-9A-Z]{16}") for p in ("ABIA", "ACCA", "AKIA", "ASIA")),
        ),
        False,
        ("AWSKeyDetector",),
    ),
    ((("aws", _AWS_ASSIGNED),), True, ("AWSKeyDetector",)),
    (
        (("AKC", r"AKC[a-zA-Z0-9]{10}"), ("AP", r"AP[\dABCDEF][a-zA-Z0-9]{8}")),
        False,
        ("ArtifactoryDetector",),
    ),
    ((("AccountKey=", r"AccountKey="),), False, ("AzureStorageKeyDetector",)),
    ((("://", r"://[^{}\s]+:[^{}\s]+@"),), False, ("BasicAuthDetector",)),
    (((".", r"\.[a-zA-Z\d_-]{6}\.[a-zA-Z\d_-]{27}"),), False, ("DiscordBotTokenDetector",)),
    (
        tuple((f"gh{c}_", f"gh{c}_[A-Za-z0-9_]{{36}}") for c in "pousr"),
        False,
        ("GitHubTokenDetector",),
    ),
    (
        tuple((p, re.escape(p)) for p in (*_GITLAB, "GR1348941")),
        False,
        ("GitLabTokenDetector",),
    ),
    (((".", r"\.\d{1,3}\.\d{1,3}\."),), False, ("IPPublicDetector",)),
    ((("eyJ", r"eyJ"),), False, ("JwtTokenDetector",)),
    ((("-us", r"-us\d"),), False, ("MailchimpDetector",)),
    (((":_authToken=", r":_authToken="),), False, ("NpmDetector",)),
    ((("T3BlbkFJ", r"T3BlbkFJ"),), False, ("OpenAIDetector",)),
    (
        (("PRIVATE KEY", r"PRIVATE KEY"), ("PuTTY-User-Key-File-2", r"PuTTY-User-Key-File-2")),
        False,
        ("PrivateKeyDetector",),
    ),
    ((("pypi-AgE", r"pypi-AgE"),), False, ("PypiTokenDetector",)),
    ((("SG.", r"SG\."),), False, ("SendGridDetector",)),
    ((("sq0csp-", r"sq0csp-"),), False, ("SquareOAuthDetector",)),
    ((("rk_live_", r"rk_live_"), ("sk_live_", r"sk_live_")), False, ("StripeDetector",)),
    (((":", r":[0-9A-Za-z_-]{35}"),), False, ("TelegramBotTokenDetector",)),
    ((("AC", r"AC[a-z0-9]{32}"), ("SK", r"SK[a-z0-9]{32}")), False, ("TwilioKeyDetector",)),
    # every keyword holds one of these stems; the plugin's hint (_KEYWORDS) then picks the lines
    (tuple((s, s) for s in ("key", "pass", "pwd", "secret", "contrase")), True, ("KeywordDetector",)),
    ((("xox", r"xox[abposr]-"), ("hooks.slack.com", r"hooks\.slack\.com")), True, ("SlackDetector",)),
    (
        (
            ("key", "key" + _ASSIGNED),
            ("pw", "pwd?" + _ASSIGNED),
            ("pass", "pass(?:word)?" + _ASSIGNED),
            ("token", "token" + _ASSIGNED),
            ("cloudant.com", r"cloudant\.com"),
            ("softlayer", r"api.softlayer.com/soap/"),
        ),
        True,
        ("CloudantDetector", "IbmCloudIamDetector", "IbmCosHmacDetector", "SoftlayerDetector"),
    ),
)

_ASSIGNED_PLUGINS = ("CloudantDetector", "IbmCloudIamDetector", "IbmCosHmacDetector", "SoftlayerDetector")
_ENTROPY_PLUGINS = ("Base64HighEntropyString", "HexHighEntropyString")


@dataclass(frozen=True)
class Gate:
    alternatives: tuple[tuple[str, re.Pattern[str]], ...]  # (required literal or "", regex)
    folded: bool
    plugins: tuple[int, ...]  # indices in the plugin list
    # per alternative: every match lies inside one run of token characters (textindex.runs_only),
    # so the text's distinct runs answer first whether it matches at all
    in_runs: tuple[bool, ...] = ()


@dataclass(frozen=True)
class EntropyGate:
    """Quoted maximal runs of a high-entropy plugin's charset that can exceed its limit."""

    plugin: int
    charset: str
    table: bytes  # run character -> a, quote -> q, newline kept, anything else -> space
    runs: re.Pattern[bytes]  # q followed by at least min_len run characters (greedy: maximal)
    min_len: int
    distinct: int  # fewest distinct characters whose entropy can exceed the limit
    limit: float
    plain_table: bytes  # run character -> a, newline kept, anything else (quotes too) -> space


def _table(run_chars: str, quote_chars: str = "") -> bytes:
    out = bytearray(b" " * 256)
    for c in run_chars:
        out[ord(c)] = ord("a")
    for c in quote_chars:
        out[ord(c)] = ord("q")
    out[ord("\n")] = ord("\n")
    return bytes(out)


def min_run(limit: float) -> int:
    """Shortest string whose maximal Shannon entropy (log2 of its length) exceeds ``limit``."""
    n = max(1, math.floor(2**limit))
    while math.log2(n) <= limit:
        n += 1
    return n


def min_distinct(limit: float) -> int:
    """Fewest distinct characters a string needs for its Shannon entropy to exceed ``limit`` (its
    entropy is at most log2 of that number). Rounding is allowed for: a string of 8 hex digits,
    each twice, has an entropy of exactly 3, which a sum of floats may compute a hair above."""
    k = 1
    while math.log2(k) < limit - 1e-9:
        k += 1
    return k


def shannon(data: str) -> float:
    if not data:
        return 0.0
    n = len(data)
    return -sum((c / n) * math.log2(c / n) for c in collections.Counter(data).values())


class Prefilter:
    """The gates of a plugin set and, per plugin, its own line hints."""

    def __init__(self, plugins: Sequence[Any]) -> None:
        names = [type(p).__name__ for p in plugins]
        index: dict[str, list[int]] = {}
        for i, name in enumerate(names):
            index.setdefault(name, []).append(i)
        self.plugin_names = tuple(names)
        self.gates: list[Gate] = []
        self.entropy: list[EntropyGate] = []
        self.every_line: tuple[int, ...] = ()
        hints: list[tuple[re.Pattern[str] | None, re.Pattern[str] | None]] = []
        gated: set[int] = set()
        for alternatives, fold, covered in _BUILTIN_GATES:
            ids = tuple(i for name in covered for i in index.get(name, ()))
            if ids:
                compiled = tuple((lit, re.compile(regex)) for lit, regex in alternatives)
                in_runs = tuple(
                    not fold and regex not in (lit, re.escape(lit)) and runs_only(regex)
                    for lit, regex in alternatives
                )
                self.gates.append(Gate(compiled, fold, ids, in_runs))
                gated.update(ids)
        every: list[int] = []
        for i, plugin in enumerate(plugins):
            name = names[i]
            plain: list[str] = []
            folded: list[str] = []
            if name in _ENTROPY_PLUGINS:
                limit = float(plugin.entropy_limit)
                charset = str(plugin.charset)
                n = min_run(limit)
                self.entropy.append(
                    EntropyGate(
                        i,
                        charset,
                        _table(charset, "'\""),
                        re.compile(rb"qa{%d,}" % n),
                        n,
                        min_distinct(limit),
                        limit,
                        _table(charset),
                    )
                )
            elif i in gated:
                for regex, fold in _DS_HINTS.get(name, ()):
                    (folded if fold else plain).append(regex)
            elif hasattr(plugin, "prefilter"):
                fold = bool(getattr(plugin, "prefilter_casefold", False))
                literal = str(getattr(plugin, "prefilter_literal", ""))
                self.gates.append(Gate(((literal, re.compile(str(plugin.prefilter))),), fold, (i,)))
            else:
                every.append(i)  # no known condition: every line
            hints.append(
                (
                    re.compile("|".join(f"(?:{r})" for r in plain)) if plain else None,
                    re.compile("|".join(f"(?:{r})" for r in folded)) if folded else None,
                )
            )
        self.every_line = tuple(every)
        self.hints = tuple(hints)
        self.assigned_runs = any(n in index for n in _ASSIGNED_PLUGINS)

    # -- candidate lines -------------------------------------------------------------------------
    def candidates(self, text: str, index: TextIndex | None = None) -> dict[int, set[int]]:
        """1-based line number -> indices of the plugins that may fire on that line."""
        ix = index if index is not None and index.text is text else TextIndex(text)
        found: dict[int, set[int]] = {}
        if self.every_line:
            everyone = set(self.every_line)
            for n in range(1, text.count("\n") + 2):
                found[n] = set(everyone)
        for gate in self.gates:
            fold = 2 if gate.folded else 0
            lines: set[int] = set()
            for k, (literal, regex) in enumerate(gate.alternatives):
                if literal and not ix.contains(literal, fold):
                    continue
                if gate.in_runs and gate.in_runs[k] and not ix.may_match(regex):
                    continue
                lines.update(_match_lines(ix.casefold() if gate.folded else text, regex))
            for line in lines:
                found.setdefault(line, set()).update(gate.plugins)
        if self.entropy:
            raw = text.encode("utf-8", "surrogatepass")
            for eg in self.entropy:
                for line in _entropy_lines(raw, eg):
                    found.setdefault(line, set()).add(eg.plugin)
        return found

    def plugin_hint(self, index: int, line: str, folded: str | None) -> tuple[bool, str | None]:
        """Whether plugin ``index``'s own hints match ``line`` (and the case-folded line, computed
        at most once per line)."""
        plain, fold = self.hints[index]
        if plain is None and fold is None:
            return True, folded
        if plain is not None and plain.search(line):
            return True, folded
        if fold is not None:
            if folded is None:
                folded = line.casefold()
            if fold.search(folded):
                return True, folded
        return False, folded


def _match_lines(haystack: str, regex: re.Pattern[str]) -> list[int]:
    """The lines on which ``regex`` matches: one search per line at most (after a match, the
    search resumes at the next line)."""
    out: list[int] = []
    pos = 0
    line = 1
    counted = 0
    search = regex.search
    count = haystack.count
    find = haystack.find
    while True:
        m = search(haystack, pos)
        if m is None:
            break
        start = m.start()
        line += count("\n", counted, start)
        counted = start
        out.append(line)
        nl = find("\n", start)
        if nl < 0:
            break
        pos = nl + 1
    return out


def _entropy_lines(raw: bytes, gate: EntropyGate) -> list[int]:
    """Lines holding a quoted maximal run of the charset that can exceed the entropy limit."""
    data = raw.translate(gate.table)
    out: list[int] = []
    line = 1
    counted = 0
    last = 0
    distinct = gate.distinct
    rich: dict[bytes, bool] = {}  # a JSON model quotes the same names thousands of times
    for m in gate.runs.finditer(data):
        start, end = m.span()
        run = raw[start + 1 : end]
        enough = rich.get(run)
        if enough is None:
            enough = rich[run] = len(set(run)) >= distinct
        if not enough:
            continue
        line += data.count(b"\n", counted, start)
        counted = start
        if line != last:
            out.append(line)
            last = line
    return out


# -- config transformers ------------------------------------------------------------------------------
# A transformer writes ``key: "value"`` from a key and a value the text may hold on different lines
# (YAML's value below its key): the assignment the IBM / Cloudant / SoftLayer gate needs may only
# exist after the transform. Such a text is transformed when it holds one of their keywords and a
# run of 24 of their value characters anywhere.
_ASSIGNED_LITERALS = ("key", "pw", "pass", "token", "cloudant", "softlayer")
_ASSIGNED_TABLE = _table(string.ascii_lowercase + string.digits + "_-")


def _loose_assigned(text: str) -> bool:
    folded = text.casefold()
    if not any(lit in folded for lit in _ASSIGNED_LITERALS):
        return False
    return b"a" * 24 in folded.encode("utf-8", "surrogatepass").translate(_ASSIGNED_TABLE)


# More '=' than this in one run of the entropy charset: the transformers are run (a prefilter may
# only ever let more through).
_MAX_EQUALS = 16
# Bytes after which a transformed (quoted) value may begin.
_VALUE_START = frozenset(bytes([c]) for c in b" \t\n\"'=:[{,-|>")


def transform_may_matter(prefilter: Prefilter, text: str) -> bool:
    """Whether a config transformer's quoted values could give the entropy plugins a finding.

    Transformers quote bare values; everything else they produce is already in the text (and
    found by the gates). A value is a whole run of the charset (or the part after an ``=``),
    so without a run of the minimal length whose entropy exceeds the limit nothing can fire.
    """
    raw = text.encode("utf-8", "surrogatepass")
    if prefilter.assigned_runs and _loose_assigned(text):
        return True
    for eg in prefilter.entropy:
        data = raw.translate(eg.plain_table)
        needle = b"a" * eg.min_len
        pos = data.find(needle)
        # The next space and newline at or after pos, each found once per occurrence (a
        # search per run would re-read the rest of a long line for every run).
        space = newline = -1
        while pos >= 0:
            if space < pos:
                space = data.find(b" ", pos) % (len(data) + 1)  # not found: the end
            if newline < pos:
                newline = data.find(b"\n", pos) % (len(data) + 1)
            stop = min(space, newline)
            start = pos
            chunk = raw[pos:stop]
            pos = data.find(needle, stop)
            if len(set(chunk)) < eg.distinct and b"=" not in chunk:
                continue  # too few distinct characters for any piece of it
            run = chunk.decode("ascii")
            if run.count("=") > _MAX_EQUALS:
                return True  # let the transformers decide rather than slice every suffix
            # A quoted value starts the run only where a value can start (after a space, a
            # quote, `=` or `:`, a flow or list mark, or at the start): a run after `@` or `/`
            # (`uses: owner/repo@<40 hex>`) is the tail of a longer value, never all of one.
            whole = start == 0 or raw[start - 1 : start] in _VALUE_START
            pieces = ([run] if whole else []) + [run[i + 1 :] for i, c in enumerate(run) if c == "="]
            if any(len(p) >= eg.min_len and shannon(p) > eg.limit for p in pieces):
                return True
    return False
