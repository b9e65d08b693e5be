"""The one adapter between nhiscan and detect-secrets: secret detection in one file's text.

detect-secrets runs each of its ~30 plugins on every line, through a generic argument-injection
layer: almost all of its time is Python overhead per (line, plugin), not regex work. This module
keeps its plugins and filters as the judges of what is a secret, and decides *which lines* they
see with one whole-text pass of fast regexes that state a necessary condition for each plugin to
fire (the keyword plugin needs one of its keywords, a token plugin its literal prefix, the
high-entropy plugins a quoted run of at least the length whose maximal entropy exceeds their
limit, ...). Lines without any such match cannot produce a finding, so a file without any costs one
pass of those regexes; candidate lines go through detect-secrets exactly as ``scan_file`` would
(same transformers, same line and context filters, same eager fallback).

detect-secrets keeps its configuration in process-global caches; everything here runs inside
``ds_session()`` (its ``transient_settings``), which clears the cached plugin map first so our
extra plugins (ds_plugins.py) are found, and restores the previous settings on exit. Verification
(network calls) stays off: its filter is never enabled.
"""

from __future__ import annotations

import hashlib
import io
import math
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DS_PLUGINS_FILE = str(Path(__file__).with_name("ds_plugins.py"))

# Custom plugin classes in ds_plugins.py (loaded by detect-secrets from the file path).
CUSTOM_PLUGINS: tuple[str, ...] = (
    "AnthropicKeyDetector",
    "OpenAIProjectKeyDetector",
    "HuggingFaceTokenDetector",
    "AzureClientSecretDetector",
    "GitHubFineGrainedTokenDetector",
    "NpmAccessTokenDetector",
    "AWSSecretAccessKeyDetector",
)

# `is_invalid_file` asks the file system whether the name is a file: nhiscan reads the files itself
# (and history blobs have no file), so that one check is made by the walker instead.
_DISABLED_FILTERS = ("detect_secrets.filters.common.is_invalid_file",)

_KEYWORDS = (
    "api_?key|auth_?key|service_?key|account_?key|db_?key|database_?key|priv_?key|private_?key|"
    "client_?key|db_?pass|database_?pass|key_?pass|password|passwd|pwd|secret|contraseña|contrasena"
)

# Necessary conditions for detect-secrets' own plugins: (regex, applies to case-folded text).
# Each regex matches inside any line on which the plugin can report something, and never spans a
# line break. A plugin missing here is run on every line (correct, just slower).
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


@dataclass(frozen=True)
class RawSecret:
    """One detect-secrets result, still holding the value (never leaves the worker process)."""

    type: str
    line: int
    value: str


@dataclass
class Prefilter:
    """The combined necessary-condition regexes for a plugin set."""

    plain: list[re.Pattern[str]]
    folded: list[re.Pattern[str]]
    loose_plain: re.Pattern[str] | None
    every_line: bool = False
    plugin_names: tuple[str, ...] = field(default_factory=tuple)
    # Per plugin (same order as the plugin list): its own hints, to pick the plugins for a line.
    per_plugin: tuple[tuple[re.Pattern[str] | None, re.Pattern[str] | None], ...] = ()


def _min_run(limit: float) -> int:
    """Shortest string whose maximal Shannon entropy (log2 of its length) exceeds ``limit``."""
    n = max(1, math.floor(2**limit))
    while math.log2(n) <= limit:
        n += 1
    return n


def build_prefilter(plugins: Sequence[Any]) -> Prefilter:
    plain: list[str] = []
    folded: list[str] = []
    loose: list[str] = []
    every_line = False
    per_plugin: list[tuple[re.Pattern[str] | None, re.Pattern[str] | None]] = []
    for plugin in plugins:
        name = type(plugin).__name__
        hints = _DS_HINTS.get(name)
        if name in ("Base64HighEntropyString", "HexHighEntropyString"):
            n = _min_run(float(plugin.entropy_limit))
            cs = re.escape(plugin.charset)
            hints = ((rf"['\"][{cs}]{{{n},}}", False),)
            # Transformed config files quote bare values: the file-level gate must not need quotes.
            loose.append(rf"(?<![{cs}])[{cs}]{{{n}}}")
        elif hints is None and hasattr(plugin, "prefilter"):
            hints = ((str(plugin.prefilter), bool(getattr(plugin, "prefilter_casefold", False))),)
        if hints is None:
            every_line = True
            per_plugin.append((re.compile(""), None))  # matches every line
            continue
        mine_plain = [r for r, fold in hints if not fold]
        mine_folded = [r for r, fold in hints if fold]
        plain += mine_plain
        folded += mine_folded
        per_plugin.append(
            (
                re.compile("|".join(f"(?:{r})" for r in mine_plain)) if mine_plain else None,
                re.compile("|".join(f"(?:{r})" for r in mine_folded)) if mine_folded else None,
            )
        )
    return Prefilter(
        plain=_gate(plain),
        folded=_gate(folded),
        loose_plain=re.compile("|".join(f"(?:{r})" for r in loose)) if loose else None,
        every_line=every_line,
        plugin_names=tuple(type(p).__name__ for p in plugins),
        per_plugin=tuple(per_plugin),
    )


def _gate(regexes: list[str]) -> list[re.Pattern[str]]:
    """Few fast regexes whose union equals the given alternatives.

    One alternation of everything is slow in Python's engine (every branch is tried at every
    position); alternatives starting with a literal are grouped, the others stay on their own.
    """
    literal: list[str] = []
    other: list[str] = []
    for r in regexes:
        (literal if r[:1].isalnum() or r[:1] in (":", "-") else other).append(r)
    out = [re.compile("|".join(f"(?:{r})" for r in literal))] if literal else []
    out += [re.compile(r) for r in other]
    return out


def ds_config(extra_plugins: bool = True) -> dict[str, Any]:
    """The detect-secrets settings nhiscan scans with: every built-in plugin plus ours, default filters."""
    from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class

    get_mapping_from_secret_type_to_class.cache_clear()
    mapping: dict[str, Any] = get_mapping_from_secret_type_to_class()
    builtin = [{"name": cls.__name__} for cls in mapping.values()]
    plugins = [p for p in builtin if p["name"] not in CUSTOM_PLUGINS]
    if extra_plugins:
        plugins += [{"name": n, "path": f"file://{DS_PLUGINS_FILE}"} for n in CUSTOM_PLUGINS]
    return {"plugins_used": plugins}


@contextmanager
def ds_session(extra_plugins: bool = True) -> Iterator[Scanner]:
    """detect-secrets configured for one scan; its global settings are restored afterwards."""
    from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class
    from detect_secrets.settings import get_settings, transient_settings

    config = ds_config(extra_plugins)
    with transient_settings(config):
        get_mapping_from_secret_type_to_class.cache_clear()
        settings = get_settings()
        settings.disable_filters(*_DISABLED_FILTERS)
        settings.filters.pop("detect_secrets.filters.common.is_ignored_due_to_verification_policies", None)
        try:
            yield Scanner()
        finally:
            get_mapping_from_secret_type_to_class.cache_clear()


class _NamedText(io.StringIO):
    def __init__(self, text: str, name: str) -> None:
        super().__init__(text)
        self.name = name


def split_lines(text: str) -> list[str]:
    """Lines as Python's text-mode readlines() gives them (universal newlines, ends kept)."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    parts = text.split("\n")
    lines = [p + "\n" for p in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


class Scanner:
    """Scans texts with the active detect-secrets settings (create inside ``ds_session``)."""

    def __init__(self) -> None:
        from detect_secrets.core import scan as ds_scan
        from detect_secrets.settings import get_plugins
        from detect_secrets.transformers import get_transformed_file
        from detect_secrets.util.code_snippet import get_code_snippet

        self._plugins = list(get_plugins())
        self._filtered = ds_scan._is_filtered_out
        self._scan_line = ds_scan._scan_line
        self._snippet = get_code_snippet
        self._transform: Any = get_transformed_file
        self.prefilter = build_prefilter(self._plugins)

    # -- candidate lines -------------------------------------------------------------------------
    def _hit_lines(self, text: str) -> set[int]:
        """1-based numbers of the lines of ``text`` on which some plugin could fire."""
        pf = self.prefilter
        if pf.every_line:
            return set(range(1, text.count("\n") + 2))
        found: set[int] = set()
        folded_text: str | None = None
        for pattern, fold in [(p, False) for p in pf.plain] + [(p, True) for p in pf.folded]:
            if fold:
                if folded_text is None:
                    folded_text = text.casefold()
                haystack = folded_text
            else:
                haystack = text
            # One search per line at most: after a match, resume at the next line.
            pos = 0
            line = 1
            counted = 0
            search = pattern.search
            while True:
                m = search(haystack, pos)
                if m is None:
                    break
                start = m.start()
                line += haystack.count("\n", counted, start)
                counted = start
                found.add(line)
                nl = haystack.find("\n", start)
                if nl < 0:
                    break
                pos = nl + 1
        return found

    # -- scanning --------------------------------------------------------------------------------
    def scan_text(self, filename: str, text: str) -> list[RawSecret]:
        """What detect-secrets' scan_file would report for a file with this name and content.

        Every occurrence is listed (detect-secrets' collection keeps only the first line of each
        (type, value) in a file).
        """
        if self._filtered(required_filter_parameters=["filename"], filename=filename):
            return []
        if "\r" in text:
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        raw_hits = self._hit_lines(text)
        loose = self.prefilter.loose_plain
        if not raw_hits and not (loose is not None and loose.search(text)):
            # Nothing in the text, nor in any quoted form a config transformer could produce.
            return []
        out: list[RawSecret] = []
        for eager in (False, True):
            lines = self._transform(_NamedText(text, filename), use_eager_transformers=eager)
            if lines:
                out = self._scan_lines(filename, lines, None)
            elif eager:
                break
            else:
                out = self._scan_lines(filename, split_lines(text), raw_hits)
            if out:
                break
        return out

    def _scan_lines(self, filename: str, lines: list[str], candidates: set[int] | None) -> list[RawSecret]:
        if candidates is None:
            candidates = self._hit_lines("".join(ln if ln.endswith("\n") else ln + "\n" for ln in lines))
        if not candidates:
            return []
        found: dict[tuple[str, str, int], RawSecret] = {}
        hints = list(zip(self._plugins, self.prefilter.per_plugin, strict=True))
        for number in sorted(candidates):
            if number > len(lines):
                continue
            raw_line = lines[number - 1]
            folded_line: str | None = None
            selected = []
            for plugin, (plain, fold) in hints:
                if plain is not None and plain.search(raw_line):
                    selected.append(plugin)
                elif fold is not None:
                    if folded_line is None:
                        folded_line = raw_line.casefold()
                    if fold.search(folded_line):
                        selected.append(plugin)
            if not selected:
                continue
            line = raw_line.rstrip()
            snippet = self._snippet(lines=lines, line_number=number)
            if self._filtered(
                required_filter_parameters=["line"], filename=filename, line=line, context=snippet
            ):
                continue
            for plugin in selected:
                for secret in self._scan_line(
                    plugin=plugin, filename=filename, line=line, line_number=number, context=snippet
                ):
                    if self._filtered(
                        required_filter_parameters=["context"],
                        filename=secret.filename,
                        secret=secret.secret_value,
                        plugin=plugin,
                        line=line,
                        context=snippet,
                    ):
                        continue
                    value = str(secret.secret_value)
                    # Every occurrence is kept (detect-secrets' collection later keeps the first).
                    found.setdefault((secret.type, value, number), RawSecret(secret.type, number, value))
        return list(found.values())


def sha1_hex(value: str) -> str:
    return hashlib.sha1(value.encode("utf-8")).hexdigest()
