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

import hashlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nhiscan.sources.repo.detectors import TYPE_PREFIX, CatalogueScanner
from nhiscan.sources.repo.ds_text import (
    INDIRECT_FILTER,
    NamedText,
    is_indirect_reference,
    may_be_headerless_ini,
    may_be_ini,
    split_lines,
)
from nhiscan.sources.repo.lines import LineAnalyzer, LineState
from nhiscan.sources.repo.prefilter import Prefilter, min_run, transform_may_matter
from nhiscan.sources.repo.textindex import TextIndex
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
# ``is_line_allowlisted`` drops lines marked ``pragma: allowlist secret`` silently: nhiscan reads that
# marker itself (inline_ignore.py) and reports those secrets as waived, with the reason given.
# ``is_indirect_reference`` is answered by ``is_indirect_reference`` below, same answers in linear time.
_DISABLED_FILTERS = (
    "detect_secrets.filters.common.is_invalid_file",
    "detect_secrets.filters.allowlist.is_line_allowlisted",
    INDIRECT_FILTER,
)


@dataclass(frozen=True)
class RawSecret:
    """One detect-secrets result, still holding the value (never leaves the worker process)."""

    type: str
    line: int
    value: str


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


class Scanner:
    """Scans texts with the active detect-secrets settings (create inside ``ds_session``)."""

    def __init__(self) -> None:
        from detect_secrets.core import scan as ds_scan
        from detect_secrets.settings import get_plugins, get_settings
        from detect_secrets.transformers import get_transformers
        from detect_secrets.transformers.exceptions import ParsingError
        from detect_secrets.util.code_snippet import get_code_snippet

        self._plugins = list(get_plugins())
        self._filtered = ds_scan._is_filtered_out
        # (it only slices the lines: split_lines' sequence serves as well as a list)
        self._snippet: Any = get_code_snippet
        self._transformers: list[Any] = list(get_transformers())
        self._parsing_error: type[Exception] = ParsingError
        self.prefilter = Prefilter(self._plugins)
        self._analyzer = LineAnalyzer()
        self._catalogue = CatalogueScanner()
        # detect-secrets' own filter is disabled by nhiscan's sessions and answered here instead
        self._indirect = INDIRECT_FILTER not in get_settings().filters

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
        # One index of the text's runs answers both detector sets' literal tests.
        index = TextIndex(text)
        # nhiscan's own detector catalogue (rules/detectors/): every syntax, one prefilter pass.
        catalogue = [
            RawSecret(TYPE_PREFIX + h.detector.id, h.line, h.value) for h in self._catalogue.scan(text, index)
        ]
        return catalogue + self._scan_ds(filename, text, index)

    def _scan_ds(self, filename: str, text: str, index: TextIndex | None = None) -> list[RawSecret]:
        raw_hits = self.prefilter.candidates(text, index)
        if not raw_hits and not transform_may_matter(self.prefilter, text):
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
            kind = type(transformer).__name__
            if kind == "ConfigFileTransformer" and not may_be_ini(text):
                continue  # configparser rejects a file whose first entry is not a [section]
            if kind == "EagerConfigFileTransformer" and not may_be_headerless_ini(text):
                continue  # ... and, under the eager header, one whose first entry is not `key = value`
            if kind == "YAMLTransformer":
                # The same lines read off the text's lines (yaml_lines.py), or from nhiscan's one
                # bounded (libyaml) read of the file; detect-secrets would parse it again in pure
                # Python, and follow every alias of an alias bomb.
                try:
                    return transformed_lines(text, filename)
                except ValueError:
                    continue
            try:
                lines: list[str] = transformer.parse_file(NamedText(text, filename))
                return lines
            except self._parsing_error:
                pass
        return None

    def _scan_lines(
        self, filename: str, lines: Sequence[str], candidates: dict[int, set[int]] | None
    ) -> list[RawSecret]:
        if candidates is None:
            joined = "".join(ln if ln.endswith("\n") else ln + "\n" for ln in lines)
            candidates = self.prefilter.candidates(joined)
            if joined.count("\n") != len(lines):
                candidates = _per_element(candidates, lines)
        if not candidates:
            return []
        found: dict[tuple[str, str, int], RawSecret] = {}
        plugins = self._plugins
        hint = self.prefilter.plugin_hint
        for number in sorted(candidates):
            if number > len(lines):
                continue
            raw_line = lines[number - 1]
            folded_line: str | None = None
            selected = []
            for i in sorted(candidates[number]):
                ok, folded_line = hint(i, raw_line, folded_line)
                if ok:
                    selected.append(plugins[i])
            if not selected:
                continue
            line = raw_line.rstrip()
            if self._indirect and is_indirect_reference(line):
                continue
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


def _per_element(candidates: dict[int, set[int]], lines: Sequence[str]) -> dict[int, set[int]]:
    """Candidates of the joined text as numbers of ``lines``' elements: a transformed YAML line
    holding a block or multi-line value spans several lines of the text (detect-secrets scans it
    as one line, and numbers the lines after it by element)."""
    owner: list[int] = []
    for number, ln in enumerate(lines, 1):
        owner.extend([number] * (ln.count("\n", 0, len(ln) - 1) + 1))
    out: dict[int, set[int]] = {}
    for line, plugins in candidates.items():
        if line <= len(owner):
            out.setdefault(owner[line - 1], set()).update(plugins)
    return out


def sha1_hex(value: str) -> str:
    return hashlib.sha1(value.encode("utf-8")).hexdigest()


__all__ = [
    "CUSTOM_PLUGINS",
    "RawSecret",
    "Scanner",
    "ds_config",
    "ds_session",
    "is_indirect_reference",
    "min_run",
    "process_scanner",
    "sha1_hex",
]
