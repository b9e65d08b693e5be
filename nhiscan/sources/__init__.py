"""Sources: turn exports, live APIs and repositories into the inventory model.

Flow: every offline input file is read once and recognised from its content (never its name) as a
RawDocument of a known kind; live collectors produce RawDocuments of the same kinds; then each
provider's pure ``normalize(docs, settings)`` turns all of its documents together into identities
(so several exports of one account merge into one view). Repository paths go to the repo scanner.

Provider packages expose, without importing any cloud SDK at module level:
  ``exports.detect(parsed) -> str | None``   the document kind, if this provider recognises it
  ``normalize(docs, settings) -> ProviderResult``
"""

from __future__ import annotations

import csv
import dataclasses
import errno
import hashlib
import importlib
import io
import json
import os
import re
import stat
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from yaml.nodes import MappingNode, Node, ScalarNode

from nhiscan import heapkeep
from nhiscan.config import InputSpec, ScanConfig, Settings
from nhiscan.errors import InputError, content_free
from nhiscan.model import Identity, Inventory, LogConfig, Observation, Secret, SourceError, SourceRef
from nhiscan.safeyaml import (
    MERGE_TAG,
    Composed,
    DuplicateKey,
    YamlProblem,
    compose,
    construct,
    duplicate_message,
)
from nhiscan.sources.stream import describe_mode, read_input_bytes

# Providers whose exports nhiscan recognises, in detection order.
PROVIDERS: tuple[str, ...] = ("inventory", "aws", "gcp", "azure", "kubernetes", "gitlab")

_NO_JSON = object()

# Where the recognised export formats and the commands producing them are documented.
INPUTS_DOC = "docs/inputs.md"


@dataclass(frozen=True)
class Parsed:
    """A file read once: its text, and its JSON/YAML value when it parses as one."""

    path: str
    text: str
    data: Any = _NO_JSON
    sha256: str = ""  # of the bytes read: the report names exactly what was scanned

    @property
    def is_structured(self) -> bool:
        return self.data is not _NO_JSON

    def csv_header(self) -> list[str] | None:
        first = self.text.lstrip("\ufeff").split("\n", 1)[0].strip()
        if "," not in first:
            return None
        return next(csv.reader(io.StringIO(first)))


@dataclass(frozen=True)
class RawDocument:
    kind: str
    provider: str
    path: str
    data: Any
    scope: str | None = None
    sha256: str = ""


@dataclass
class ProviderResult:
    identities: list[Identity] = field(default_factory=list)
    sources: list[SourceRef] = field(default_factory=list)
    errors: list[SourceError] = field(default_factory=list)
    secrets: list[Secret] = field(default_factory=list)
    observations: list[Observation] = field(default_factory=list)
    logging: list[LogConfig] = field(default_factory=list)
    # read from shard inventories: identities of other shards, for the grants they hold (nhiscan.shard)
    partial_identities: list[Identity] = field(default_factory=list)


class ProviderModule(Protocol):
    def normalize(self, docs: Sequence[RawDocument], settings: Settings) -> ProviderResult: ...


def read_parsed(path: str) -> Parsed:
    p = Path(path)
    if not p.exists():
        raise InputError(path, "file not found")
    if p.is_dir():
        raise InputError(path, "is a directory")
    raw = read_input_bytes(path)  # pipes and FIFOs with a deadline; devices refused
    digest = hashlib.sha256(raw).hexdigest()
    text = decode_export(path, raw)
    stripped = text.lstrip()
    if not stripped:
        raise InputError(path, "file is empty")
    if stripped[0] in "{[":
        try:
            return Parsed(path, text, parse_json(text), digest)
        except json.JSONDecodeError as exc:
            raise InputError(
                path, f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
            ) from None
        except RecursionError:
            raise InputError(path, "JSON nested too deeply to be an export") from None
    if stripped.startswith(("apiVersion:", "kind:", "---")) or "\napiVersion:" in text[:4096]:
        try:
            return Parsed(path, text, kubectl_yaml(text), digest)
        except YamlProblem as exc:
            raise InputError(path, exc.detail) from None
    return Parsed(path, text, sha256=digest)


# Byte-order marks and the encodings they name, longest first (UTF-32 LE starts like UTF-16 LE).
_BOMS: tuple[tuple[bytes, str, str], ...] = (
    (b"\xef\xbb\xbf", "utf-8", "UTF-8"),
    (b"\xff\xfe\x00\x00", "utf-32-le", "UTF-32 LE"),
    (b"\x00\x00\xfe\xff", "utf-32-be", "UTF-32 BE"),
    (b"\xff\xfe", "utf-16-le", "UTF-16 LE"),
    (b"\xfe\xff", "utf-16-be", "UTF-16 BE"),
)


def parse_json(text: str) -> Any:
    """``json.loads(text)``, through orjson (several times faster on large exports, and its keys
    are shared between records). What orjson refuses and the standard library reads (NaN,
    integers beyond 64 bits, lone surrogate escapes) or an error goes to ``json.loads``, so what is
    accepted, the values read and every error message are the standard library's."""
    try:
        import orjson
    except ImportError:  # pragma: no cover - a dependency; kept optional for vendored copies
        return json.loads(text)
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def decode_export(path: str, raw: bytes) -> str:
    """The text of an export file, decoded by its byte-order mark, else as UTF-8; never guessed.

    Windows PowerShell 5.1 writes UTF-16 LE with a BOM for ``>`` and ``Out-File`` (and UTF-16 BE,
    UTF-32 or UTF-8 with a BOM for ``-Encoding BigEndianUnicode``, ``UTF32``, ``UTF8``); PowerShell
    7 and every cloud CLI write UTF-8. A file in no encoding its BOM names, or UTF-16 without a BOM
    (NUL bytes between ASCII characters), is an error naming the file and the byte offset.
    """
    for bom, codec, name in _BOMS:
        if raw.startswith(bom):
            try:
                return raw[len(bom) :].decode(codec)
            except UnicodeDecodeError as exc:
                raise InputError(
                    path, f"not valid {name} at byte {exc.start + len(bom)} (its byte-order mark says {name})"
                ) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(
            path,
            f"not UTF-8 text at byte {exc.start} and no byte-order mark names another encoding "
            "(is it an export? re-save it as UTF-8)",
        ) from None
    head = raw[:4096]
    if head.count(0) * 4 >= len(head) > 1:
        raise InputError(
            path, "looks like UTF-16 or UTF-32 without a byte-order mark; re-save it as UTF-8 (or with a BOM)"
        )
    return text


def kubectl_yaml(text: str) -> Any:
    """The value of a kubectl YAML export: one document, or several read as one List.

    Several documents come from `---`-separated files and from appending outputs
    (`kubectl get A -o yaml >> f` writes a second document with no `---`: to a YAML parser, one
    mapping whose keys repeat). A top-level mapping whose keys repeat is split where a key
    repeats; every document's objects (a List's items, or the object itself) make up one List,
    so every object is reported. A key repeated below the top level is no kubectl output: an error.
    """
    composed = compose(text)
    values: list[Any] = []
    for doc in composed.documents:
        values.extend(construct(part) for part in _split_appended(doc))
    top = {(d.line, d.column) for d in _top_duplicates(composed)}
    nested = [d for d in composed.duplicates if (d.line, d.column) not in top]
    if nested:
        raise YamlProblem(duplicate_message(nested, "mapping"))
    if len(values) == 1:
        return values[0]
    if not values:
        return None
    items: list[Any] = []
    for value in values:
        if isinstance(value, dict) and str(value.get("kind", "")).endswith("List"):
            listed = value.get("items")
            items.extend(listed if isinstance(listed, list) else [value])
        else:
            items.append(value)
    return {"apiVersion": "v1", "kind": "List", "items": items}


def _split_appended(doc: Node) -> list[Node]:
    if not isinstance(doc, MappingNode):
        return [doc]
    parts: list[list[tuple[Node, Node]]] = [[]]
    keys: set[str] = set()
    for k, v in doc.value:
        name = str(k.value) if isinstance(k, ScalarNode) and k.tag != MERGE_TAG else None
        if name is not None and name in keys:
            parts.append([])
            keys = set()
        if name is not None:
            keys.add(name)
        parts[-1].append((k, v))
    if len(parts) == 1:
        return [doc]
    return [MappingNode(doc.tag, part, doc.start_mark, doc.end_mark, doc.flow_style) for part in parts]


def _top_duplicates(composed: Composed) -> list[DuplicateKey]:
    out: list[DuplicateKey] = []
    for doc in composed.documents:
        if isinstance(doc, MappingNode):
            keys = {(k.start_mark.line + 1, k.start_mark.column + 1) for k, _ in doc.value}
            out.extend(d for d in composed.duplicates if (d.line, d.column) in keys)
    return out


def _detector(provider: str) -> Callable[[Parsed], str | None] | None:
    name = f"nhiscan.sources.{provider}.exports"
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name and name.startswith(exc.name):
            return None  # provider not part of this build
        raise
    fn: Callable[[Parsed], str | None] = module.detect
    return fn


# An empty JSON list is what every list command prints when there is nothing to list (`gcloud iam
# service-accounts keys list` for an account without user-managed keys, `az ad app list` in an
# empty tenant): a valid export that holds nothing, of no recognisable provider.
EMPTY_EXPORT = ("", "empty-export")


def detect(parsed: Parsed) -> tuple[str, str]:
    """(provider, kind) of a parsed input, or InputError naming what it looks like."""
    if parsed.is_structured and parsed.data == []:
        return EMPTY_EXPORT
    for provider in PROVIDERS:
        fn = _detector(provider)
        if fn is None:
            continue
        kind = fn(parsed)
        if kind:
            return provider, kind
    if parsed.is_structured:
        shape = type(parsed.data).__name__
        keys = sorted(parsed.data)[:6] if isinstance(parsed.data, dict) else []
        hint = f" with keys {keys}" if keys else ""
        raise InputError(
            parsed.path,
            f"unrecognised export format (a JSON {shape}{hint}); expected an AWS, GCP, Azure, "
            f"Kubernetes or GitLab CLI export, or an `nhiscan inventory` file (see {INPUTS_DOC})",
        )
    raise InputError(
        parsed.path, f"unrecognised export format (not JSON, YAML or a known CSV report; see {INPUTS_DOC})"
    )


# An empty list given for an application (`--input applications/APPID=FILE`) is the output of
# `az ad app federated-credential list` for an application that has none: that is the fact.
_APP_SCOPE = re.compile(r"^applications/[0-9a-fA-F-]{36}$")


def scoped_kind(found: tuple[str, str], scope: str | None) -> tuple[str, str]:
    if found == EMPTY_EXPORT and scope and _APP_SCOPE.match(scope):
        return "azure", "azure-federated-credentials"
    return found


def load_input(spec: InputSpec) -> RawDocument:
    parsed = read_parsed(spec.path)
    provider, kind = scoped_kind(detect(parsed), spec.scope)
    return RawDocument(
        kind=kind,
        provider=provider,
        path=spec.path,
        data=parsed.data if parsed.is_structured else parsed.text,
        scope=spec.scope,
        sha256=parsed.sha256,
    )


def load_inputs(spec: InputSpec) -> tuple[list[RawDocument], list[SourceError]]:
    """The document of one --input FILE, or of every export in a --input DIRECTORY.

    A directory is read one level deep, in name order: each file that is JSON, Kubernetes YAML or
    CSV is an export and must be recognised (a broken one is an error naming it, the others are
    still read); other files (README, notes, plain YAML) are not exports and are passed over.
    """
    docs: list[RawDocument] = []
    errors: list[SourceError] = []
    for doc, error in iter_inputs(spec):
        if doc is not None:
            docs.append(doc)
        if error is not None:
            errors.append(error)
    return docs, errors


def iter_inputs(spec: InputSpec) -> Iterator[tuple[RawDocument | None, SourceError | None]]:
    """``load_inputs``, one file at a time: a caller may normalize and drop each document before
    the next is read (a directory of inventory shards is never held in memory at once)."""
    root = Path(spec.path)
    try:
        is_dir = root.is_dir()
    except OSError as exc:  # e.g. a file in a directory that may not be searched
        yield None, SourceError(spec.path, f"cannot read: {exc.strerror}")
        return
    if not is_dir:
        try:
            yield load_input(spec), None
        except InputError as exc:
            yield None, SourceError(exc.source, exc.detail)
        return
    children, errors = list_input_dir(root)
    for error in errors:
        yield None, error
    found = bool(errors)
    for child in children:
        try:
            parsed = read_parsed(str(child))
            if not parsed.is_structured and child.suffix.lower() != ".csv":
                continue
            provider, kind = scoped_kind(detect(parsed), spec.scope)
        except InputError as exc:
            found = True
            yield None, SourceError(exc.source, exc.detail)
            continue
        data = parsed.data if parsed.is_structured else parsed.text
        sha256 = parsed.sha256
        del parsed
        found = True
        yield RawDocument(kind, provider, str(child), data, spec.scope, sha256), None
    if not found:
        yield None, SourceError(spec.path, "directory holds no export (*.json, *.csv, Kubernetes *.yaml)")


_EXPORT_SUFFIXES = frozenset({".json", ".csv", ".yaml", ".yml"})


def list_input_dir(root: Path) -> tuple[list[Path], list[SourceError]]:
    """The candidate exports of a --input DIRECTORY (one level, name order), and what failed.

    A directory that cannot be listed is one error naming it. A symbolic link is followed only to
    a regular file inside the directory (that file is then read once, under its own name); a link
    leading outside it is an error naming the link (an export the user meant was not read) and its
    target is never opened; so is a FIFO, socket or device named like an export (never opened). Hidden files and files of other suffixes are passed over.
    """
    from nhiscan.sources.repo.walker import inside

    errors: list[SourceError] = []
    try:
        entries = sorted(os.scandir(root), key=lambda e: e.name)
    except OSError as exc:
        return [], [SourceError(str(root), f"cannot list directory: {exc.strerror}")]
    real_root = os.path.realpath(root)
    chosen: dict[str, Path] = {}
    for entry in entries:
        if entry.name.startswith(".") or Path(entry.name).suffix.lower() not in _EXPORT_SUFFIXES:
            continue
        path = Path(entry.path)
        if entry.is_symlink():
            real = os.path.realpath(path)
            if real == real_root or not inside(real_root, real):
                errors.append(
                    SourceError(str(path), "symbolic link leads outside the directory; not followed")
                )
                continue
            path = root / os.path.relpath(real, real_root)  # read once, under its own name
        try:
            mode = os.stat(path).st_mode  # stat only: nothing is opened yet
            regular = stat.S_ISREG(mode)
        except OSError as exc:
            if exc.errno in (errno.ENOENT, errno.ELOOP):
                continue  # a broken link or a loop: nothing to read
            errors.append(SourceError(str(path), f"cannot read: {exc.strerror}"))
            continue
        if regular:
            chosen.setdefault(os.path.realpath(path), path)
        elif not stat.S_ISDIR(mode):  # a FIFO would block, a device may act: never opened
            errors.append(SourceError(str(path), f"is {describe_mode(mode)}, not a regular file; not read"))
    return sorted(chosen.values()), errors


def normalize_all(
    docs: Sequence[RawDocument],
    settings: Settings,
    done: dict[str, ProviderResult] | None = None,
    order: Sequence[str] = (),
) -> ProviderResult:
    """Each provider's documents normalized together, providers in the order they were first
    read. ``done``: providers already normalized (placed at their turn in ``order``)."""
    merged = ProviderResult()
    by_provider: dict[str, list[RawDocument]] = {p: [] for p in order}
    for doc in docs:
        by_provider.setdefault(doc.provider, []).append(doc)
    for provider, group in by_provider.items():
        if done is not None and provider in done:
            result = done[provider]
        elif not group:
            continue
        elif (provider, group[0].kind) == EMPTY_EXPORT:
            merged.sources.extend(SourceRef(kind=d.kind, scope=d.scope, path=d.path) for d in group)
            continue
        else:
            result = _normalize_guarded(provider, group, settings)
        merged.identities.extend(result.identities)
        merged.sources.extend(result.sources)
        merged.errors.extend(result.errors)
        merged.secrets.extend(result.secrets)
        merged.observations.extend(result.observations)
        merged.logging.extend(result.logging)
        merged.partial_identities.extend(result.partial_identities)
    return merged


def _normalize_guarded(provider: str, group: Sequence[RawDocument], settings: Settings) -> ProviderResult:
    """A provider's normalize, such that one document it did not expect cannot end the whole run.

    The normalizers check what they read and report bad records themselves; this is the net under
    them. If normalizing the provider's documents together raises, each is normalized alone to find
    the ones that raise: each of those is one error naming its file, and the others are normalized
    together again (so exports of one account still merge).
    """
    module: ProviderModule = importlib.import_module(f"nhiscan.sources.{provider}")
    try:
        return module.normalize(group, settings)
    except Exception:  # reported per file below, never swallowed
        pass
    good: list[RawDocument] = []
    bad: list[SourceError] = []
    for doc in group:
        try:
            module.normalize([doc], settings)
        except Exception as exc:
            bad.append(SourceError(doc.path, f"cannot read {doc.kind} export ({_exc_text(exc)})"))
        else:
            good.append(doc)
    try:
        result = module.normalize(good, settings) if good else ProviderResult()
    except Exception as exc:  # the documents only fail together
        result = ProviderResult()
        bad.extend(
            SourceError(d.path, f"cannot read {d.kind} export with the others ({_exc_text(exc)})")
            for d in good
        )
    result.errors.extend(bad)
    return result


def _exc_text(exc: Exception) -> str:
    """An unexpected exception as the type and message, without the input values it may quote."""
    detail = content_free(str(exc)) if not isinstance(exc, KeyError) else ""
    return f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__


_RESULT_LISTS = (
    "identities",
    "sources",
    "errors",
    "secrets",
    "observations",
    "logging",
    "partial_identities",
)


def collect(config: ScanConfig) -> tuple[Inventory, list[SourceError]]:
    """Everything the config names, read and normalized. Failures are collected, never raised."""
    from nhiscan.sources.feedback import Feedback

    docs: list[RawDocument] = []
    errors: list[SourceError] = []
    order: list[str] = []
    # nhiscan's own inventories (shards of an organization) are normalized one by one as they are
    # read, so a directory of them is never held parsed at once; their records are independent
    own = ProviderResult()
    own_digests: dict[str, str] = {}
    # freed buffers reused from one file to the next, given back after the last (heapkeep.py)
    with Feedback(config.progress) as feedback, heapkeep.reading():
        task = feedback.task("reading inputs", total=len(config.inputs)) if config.inputs else None
        for spec in config.inputs:
            for doc, error in iter_inputs(spec):
                if error is not None:
                    errors.append(error)
                if doc is None:
                    continue
                if doc.provider not in order:
                    order.append(doc.provider)
                if doc.provider != "inventory":
                    docs.append(doc)
                    heapkeep.give_back()  # held until all are read: its buffers are not reused
                    continue
                if doc.sha256:
                    own_digests[doc.path] = doc.sha256
                part = _normalize_guarded(doc.provider, [doc], config.settings)
                del doc
                for name in _RESULT_LISTS:
                    getattr(own, name).extend(getattr(part, name))
                feedback.update(task, description=f"reading inputs: {len(own.identities):,} identities")
            feedback.update(task, advance=1)
        feedback.done(task)
    for live in _live_collectors(config):
        live_docs, live_errors = live(config)
        for doc in live_docs:
            if doc.provider not in order:
                order.append(doc.provider)
        docs.extend(live_docs)
        errors.extend(live_errors)
    result = normalize_all(docs, config.settings, {"inventory": own} if "inventory" in order else None, order)
    errors.extend(result.errors)
    secrets = list(result.secrets)
    suppressed: list[Secret] = []
    observations = list(result.observations)
    sources = list(result.sources)
    if config.paths:
        from nhiscan.sources.repo import scan_paths

        repo = scan_paths(config, keep_suppressed=True)
        secrets.extend(s for s in repo.secrets if not s.attributes.get("suppressed"))
        suppressed.extend(s for s in repo.secrets if s.attributes.get("suppressed"))
        observations.extend(repo.observations)
        sources.extend(repo.sources)
        errors.extend(repo.errors)
    identities = _dedupe(result.identities)
    if result.partial_identities:  # shards merged: the grants other shards' scopes hold
        from nhiscan.shard import complete_partials

        identities = complete_partials(identities, result.partial_identities)
    digests = {d.path: d.sha256 for d in docs if d.sha256} | own_digests
    inventory = Inventory(
        sources=tuple(
            dataclasses.replace(s, sha256=digests[s.path]) if s.path in digests and not s.sha256 else s
            for s in sources
        ),
        identities=tuple(identities),
        secrets=tuple(secrets),
        observations=tuple(observations),
        logging=tuple(_dedupe_logging(result.logging)),
        suppressed=tuple(suppressed),
    )
    return inventory, errors


LiveCollector = Callable[[ScanConfig], tuple[list[RawDocument], list[SourceError]]]


def _live_collectors(config: ScanConfig) -> list[LiveCollector]:
    collectors: list[LiveCollector] = []
    if config.aws or config.aws_org:
        from nhiscan.sources.aws.live import collect_live

        collectors.append(collect_live)
    if config.gcp_projects:
        from nhiscan.sources.gcp.live import collect_live as collect_gcp_live

        collectors.append(collect_gcp_live)
    if config.k8s_context:
        from nhiscan.sources.kubernetes.live import collect_live as collect_k8s_live

        collectors.append(collect_k8s_live)
    if config.azure_subscriptions:
        from nhiscan.sources.azure.live import collect_live as collect_azure_live

        collectors.append(collect_azure_live)
    return collectors


def _dedupe(identities: Sequence[Identity]) -> list[Identity]:
    """One entry per identity id; the first source wins (live and export of the same account agree)."""
    seen: dict[str, Identity] = {}
    for ident in identities:
        seen.setdefault(ident.id, ident)
    return list(seen.values())


def _dedupe_logging(configs: Sequence[LogConfig]) -> list[LogConfig]:
    """One record per (kind, scope); the first source wins, as for identities."""
    seen: dict[tuple[str, str], LogConfig] = {}
    for cfg in configs:
        seen.setdefault((cfg.kind, cfg.scope), cfg)
    return list(seen.values())
