"""The one adapter between nhiscan and detect-secrets: secret detection in one file's text.

detect-secrets runs each of its ~30 plugins on every line, through a generic argument-injection
layer: almost all of its time is Python overhead per (line, plugin), not regex work. This module
keeps its plugins and filters as the judges of what is a secret, and decides *which lines* they
see with one whole-text pass of fast regexes that state a necessary condition for each plugin to
fire (the keyword plugin needs one of its keywords, a token plugin its literal prefix, the
high-entropy plugins a quoted run of at least the length whose maximal entropy exceeds their
limit, ...). Lines without any such match cannot produce a finding, so a file without any costs one
pass of those regexes; candidate lines go through detect-secrets as ``scan_file`` would (same
transformers, same line and secret filters, same eager fallback), except that each line costs time
linear in its length whatever it holds (``lines.LineAnalyzer``: detect-secrets re-reads the whole line
for every candidate secret) and the keyword plugin reports every assignment on a line, not only
the first (on a minified file or a one-line dump, all but one secret were lost).

detect-secrets keeps its configuration in process-global caches; everything here runs inside
``ds_session()`` (its ``transient_settings``), which clears the cached plugin map first so our
extra plugins (ds_plugins.py) are found, and restores the previous settings on exit. Verification
(network calls) stays off: its filter is never enabled.
"""

from __future__ import annotations

import collections
import hashlib
import io
import math
import re
import string
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nhiscan.sources.repo.lines import LineAnalyzer, LineState
from nhiscan.sources.repo.yaml_values import transformed_lines

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


# The file-level gates: each is (literals, regex, case-folded). A gate is only searched when one of
# its literals occurs in the text (a C-speed substring test); its matches mark candidate lines.
# Together they match wherever any hint above matches (each is a superset of some hints); the
# exact per-plugin hints then decide, line by line, which plugins run.
_ENTROPY_CHARSET = r"A-Za-z0-9+/\\=_\-"
_BUILTIN_GATES: tuple[tuple[tuple[str, ...], str, bool, tuple[str, ...]], ...] = (
    # literals, regex, folded, plugins covered
    (
        ("A3T", "ABIA", "ACCA", "AKIA", "ASIA"),
        r"(?:A3T[A-Z0-9]|ABIA|ACCA|AKIA|ASIA)[0-9A-Z]{16}",
        False,
        ("AWSKeyDetector",),
    ),
    (("AKC", "AP"), r"AKC[a-zA-Z0-9]{10}|AP[\dABCDEF][a-zA-Z0-9]{8}", False, ("ArtifactoryDetector",)),
    (("AccountKey=",), r"AccountKey=", False, ("AzureStorageKeyDetector",)),
    (("://",), r"://[^{}\s]+:[^{}\s]+@", False, ("BasicAuthDetector",)),
    ((".",), r"\.[a-zA-Z\d_-]{6}\.[a-zA-Z\d_-]{27}", False, ("DiscordBotTokenDetector",)),
    (
        ("ghp_", "gho_", "ghu_", "ghs_", "ghr_"),
        r"gh[pousr]_[A-Za-z0-9_]{36}",
        False,
        ("GitHubTokenDetector",),
    ),
    (
        (
            "glpat-",
            "gldt-",
            "glft-",
            "glsoat-",
            "glrt-",
            "glcbt-",
            "glimt-",
            "glptt-",
            "glagent-",
            "gloas-",
            "GR1348941",
        ),
        r"gl(?:pat|dt|ft|soat|rt|cbt|imt|ptt|agent|oas)-|GR1348941",
        False,
        ("GitLabTokenDetector",),
    ),
    ((".",), r"\.\d{1,3}\.\d{1,3}\.", False, ("IPPublicDetector",)),
    (("eyJ",), r"eyJ", False, ("JwtTokenDetector",)),
    (("-us",), r"-us\d", False, ("MailchimpDetector",)),
    ((":_authToken=",), r":_authToken=", False, ("NpmDetector",)),
    (("T3BlbkFJ",), r"T3BlbkFJ", False, ("OpenAIDetector",)),
    (
        ("PRIVATE KEY", "PuTTY-User-Key-File-2"),
        r"PRIVATE KEY|PuTTY-User-Key-File-2",
        False,
        ("PrivateKeyDetector",),
    ),
    (("pypi-AgE",), r"pypi-AgE", False, ("PypiTokenDetector",)),
    (("SG.",), r"SG\.", False, ("SendGridDetector",)),
    (("sq0csp-",), r"sq0csp-", False, ("SquareOAuthDetector",)),
    (("k_live_",), r"[rs]k_live_", False, ("StripeDetector",)),
    ((":",), r":[0-9A-Za-z_-]{35}", False, ("TelegramBotTokenDetector",)),
    (("AC", "SK"), r"(?:AC|SK)[a-z0-9]{32}", False, ("TwilioKeyDetector",)),
    (
        ("key", "pass", "pwd", "secret", "contrase"),
        r"key|pass|pwd|secret|contrase",
        True,
        ("KeywordDetector",),
    ),
    (("xox", "hooks.slack.com"), r"xox[abposr]-|hooks\.slack\.com", True, ("SlackDetector",)),
)


# Cloudant, IBM and SoftLayer keys are assignments to a key/password/token name (or their API
# URLs) of a 24+ character run of [a-z0-9_-] (case-insensitive).
_RUN_PLUGINS = ("CloudantDetector", "IbmCloudIamDetector", "IbmCosHmacDetector", "SoftlayerDetector")
_RUN_LITERALS = ("key", "pw", "pass", "token", "cloudant", "softlayer", "secret")


@dataclass(frozen=True)
class Gate:
    literals: tuple[str, ...]
    regex: re.Pattern[str]
    folded: bool


@dataclass(frozen=True)
class RunGate:
    """A run of characters, found by translating the text's bytes (C speed) and a substring search.

    ``table`` maps each byte to ``a`` (run character), ``q`` (quote), a newline to itself and
    anything else to a space; ``needle`` is then a plain byte string to look for.
    """

    literals: tuple[str, ...]
    table: bytes
    needle: bytes
    folded: bool


def _table(run_chars: str, quote_chars: str = "") -> bytes:
    out = bytearray(b" " * 256)
    for c in run_chars:
        out[ord(c)] = ord("a")
    for c in quote_chars:
        out[ord(c)] = ord("q")
    out[ord("\n")] = ord("\n")
    return bytes(out)


@dataclass(frozen=True)
class RawSecret:
    """One detect-secrets result, still holding the value (never leaves the worker process)."""

    type: str
    line: int
    value: str


@dataclass
class Prefilter:
    """The combined necessary-condition regexes for a plugin set."""

    gates: tuple[Gate | RunGate, ...]
    # Shortest run of each high-entropy plugin's charset that can exceed its limit: (charset, n, limit).
    entropy: tuple[tuple[str, int, float], ...]
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
    every_line = False
    per_plugin: list[tuple[re.Pattern[str] | None, re.Pattern[str] | None]] = []
    gates: list[Gate | RunGate] = []
    entropy: list[tuple[str, int, float]] = []
    covered = {name for *_, names in _BUILTIN_GATES for name in names} | set(_RUN_PLUGINS)
    names = {type(p).__name__ for p in plugins}
    for literals, regex, fold, plugin_names in _BUILTIN_GATES:
        if names & set(plugin_names):
            gates.append(Gate(literals, re.compile(regex), fold))
    if names & set(_RUN_PLUGINS):
        run_chars = string.ascii_lowercase + string.digits + "_-"
        gates.append(RunGate(_RUN_LITERALS, _table(run_chars), b"a" * 24, True))
    for plugin in plugins:
        name = type(plugin).__name__
        hints = _DS_HINTS.get(name)
        if name in ("Base64HighEntropyString", "HexHighEntropyString"):
            n = _min_run(float(plugin.entropy_limit))
            cs = re.escape(plugin.charset)
            hints = ((rf"['\"][{cs}]{{{n},}}", False),)
            entropy.append((str(plugin.charset), n, float(plugin.entropy_limit)))
            gates.append(RunGate((), _table(str(plugin.charset), "'\""), b"q" + b"a" * n, False))
        elif name in covered:
            pass
        elif hasattr(plugin, "prefilter"):
            hints = ((str(plugin.prefilter), bool(getattr(plugin, "prefilter_casefold", False))),)
            gates.append(
                Gate(
                    (), re.compile(str(plugin.prefilter)), bool(getattr(plugin, "prefilter_casefold", False))
                )
            )
        else:
            hints = None
        if hints is None:
            every_line = True
            per_plugin.append((re.compile(""), None))  # matches every line
            continue
        mine_plain = [r for r, fold in hints if not fold]
        mine_folded = [r for r, fold in hints if fold]
        per_plugin.append(
            (
                re.compile("|".join(f"(?:{r})" for r in mine_plain)) if mine_plain else None,
                re.compile("|".join(f"(?:{r})" for r in mine_folded)) if mine_folded else None,
            )
        )
    # The AWS plugin's keyword form needs a quoted 40-character run: the shortest quoted run covers it.
    if "AWSKeyDetector" in names and not entropy:
        gates.append(Gate((), re.compile(r"['\"][0-9a-zA-Z/+]{40}['\"]"), False))
    return Prefilter(
        gates=tuple(gates),
        entropy=tuple(entropy),
        every_line=every_line,
        plugin_names=tuple(type(p).__name__ for p in plugins),
        per_plugin=tuple(per_plugin),
    )


def _run_lines(text: str, gate: RunGate) -> set[int]:
    data = text.encode("utf-8", "surrogatepass").translate(gate.table)
    found: set[int] = set()
    find = data.find
    needle = gate.needle
    pos = find(needle)
    line = 1
    counted = 0
    while pos >= 0:
        line += data.count(b"\n", counted, pos)
        counted = pos
        found.add(line)
        nl = find(b"\n", pos)
        if nl < 0:
            break
        pos = find(needle, nl + 1)
    return found


def _entropy(data: str) -> float:
    if not data:
        return 0.0
    n = len(data)
    return -sum((c / n) * math.log2(c / n) for c in collections.Counter(data).values())


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


def process_scanner() -> Scanner:
    """Configure detect-secrets for the rest of this process (a dedicated worker) and return a Scanner.

    Workers never restore settings: a context manager left open would run its cleanup while the
    interpreter shuts down.
    """
    from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class
    from detect_secrets.settings import cache_bust, configure_settings_from_baseline, get_settings

    config = ds_config()
    cache_bust()
    configure_settings_from_baseline(config)
    get_mapping_from_secret_type_to_class.cache_clear()
    settings = get_settings()
    settings.disable_filters(*_DISABLED_FILTERS)
    settings.filters.pop("detect_secrets.filters.common.is_ignored_due_to_verification_policies", None)
    return Scanner()


def _may_be_ini(text: str) -> bool:
    for line in text.split("\n", 200):
        stripped = line.strip()
        if not stripped or stripped[0] in "#;":
            continue
        return stripped.startswith("[")
    return True  # long comment header: let the parser decide


# More '=' than this in one run of the entropy charset: the transformers are run (a prefilter may
# only ever let more through).
_MAX_EQUALS = 16
# Bytes after which a transformed (quoted) value may begin.
_VALUE_START = frozenset(bytes([c]) for c in b" \t\n\"'=:[{,-|>")


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
        from detect_secrets.transformers import get_transformers
        from detect_secrets.transformers.exceptions import ParsingError
        from detect_secrets.util.code_snippet import get_code_snippet

        self._plugins = list(get_plugins())
        self._filtered = ds_scan._is_filtered_out
        self._snippet = get_code_snippet
        self._transformers: list[Any] = list(get_transformers())
        self._parsing_error: type[Exception] = ParsingError
        self.prefilter = build_prefilter(self._plugins)
        self._analyzer = LineAnalyzer()

    # -- candidate lines -------------------------------------------------------------------------
    def _hit_lines(self, text: str) -> set[int]:
        """1-based numbers of the lines of ``text`` on which some plugin could fire."""
        pf = self.prefilter
        if pf.every_line:
            return set(range(1, text.count("\n") + 2))
        found: set[int] = set()
        folded_text: str | None = None
        for gate in pf.gates:
            if gate.folded:
                if folded_text is None:
                    folded_text = text.casefold()
                haystack = folded_text
            else:
                haystack = text
            if gate.literals and not any(lit in haystack for lit in gate.literals):
                continue
            if isinstance(gate, RunGate):
                found |= _run_lines(haystack, gate)
                continue
            # One search per line at most: after a match, resume at the next line.
            pos = 0
            line = 1
            counted = 0
            search = gate.regex.search
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

    def _transform_may_matter(self, text: str) -> bool:
        """Whether a config transformer's quoted values could give the entropy plugins a finding.

        Transformers quote bare values; everything else they produce is already in the text (and
        found by the gates). A value is a whole run of the charset (or the part after an ``=``),
        so without a run of the minimal length whose entropy exceeds the limit nothing can fire.
        """
        raw = text.encode("utf-8", "surrogatepass")
        for charset, n, limit in self.prefilter.entropy:
            data = raw.translate(_table(charset))
            needle = b"a" * n
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
                run = raw[pos:stop].decode("ascii")
                pos = data.find(needle, stop)
                if run.count("=") > _MAX_EQUALS:
                    return True  # let the transformers decide rather than slice every suffix
                # A quoted value starts the run only where a value can start (after a space, a
                # quote, `=` or `:`, a flow or list mark, or at the start): a run after `@` or `/`
                # (`uses: owner/repo@<40 hex>`) is the tail of a longer value, never all of one.
                whole = start == 0 or raw[start - 1 : start] in _VALUE_START
                pieces = ([run] if whole else []) + [run[i + 1 :] for i, c in enumerate(run) if c == "="]
                if any(len(p) >= n and _entropy(p) > limit for p in pieces):
                    return True
        return False

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
        if not raw_hits and not self._transform_may_matter(text):
            # Nothing in the text, nor in any quoted form a config transformer could produce.
            return []
        out: list[RawSecret] = []
        for eager in (False, True):
            lines = self._transform(text, filename, eager)
            if lines:
                out = self._scan_lines(filename, lines, None)
            elif eager:
                break
            else:
                out = self._scan_lines(filename, split_lines(text), raw_hits)
            if out:
                break
        return out

    def _transform(self, text: str, filename: str, eager: bool) -> list[str] | None:
        """detect-secrets' get_transformed_file, minus INI parsing attempts that cannot succeed."""
        for transformer in self._transformers:
            if not transformer.should_parse_file(filename) or eager != transformer.is_eager:
                continue
            if type(transformer).__name__ == "ConfigFileTransformer" and not _may_be_ini(text):
                continue  # configparser rejects a file whose first entry is not a [section]
            if type(transformer).__name__ == "YAMLTransformer":
                # The same lines from nhiscan's one bounded (libyaml) read of the file; detect-secrets
                # would parse it again in pure Python, and follow every alias of an alias bomb.
                try:
                    return transformed_lines(text)
                except ValueError:
                    continue
            try:
                lines: list[str] = transformer.parse_file(_NamedText(text, filename))
                return lines
            except self._parsing_error:
                pass
        return None

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
            state = LineState(line)
            for plugin in selected:
                for secret_type, value in self._analyzer.secrets(
                    plugin, filename, line, number, snippet, state
                ):
                    # Every occurrence is kept (detect-secrets' collection later keeps the first).
                    found.setdefault((secret_type, value, number), RawSecret(secret_type, number, value))
        return list(found.values())


def sha1_hex(value: str) -> str:
    return hashlib.sha1(value.encode("utf-8")).hexdigest()
