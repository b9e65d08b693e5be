"""The collection driver: every input the config names read (sources.exports), live collectors
run, each provider's documents normalized together, repository paths scanned, and the results
merged into one Inventory. Failures are collected, never raised."""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable, Sequence

from nhiscan import heapkeep
from nhiscan.config import ScanConfig, Settings
from nhiscan.errors import content_free
from nhiscan.model import Identity, Inventory, LogConfig, Secret, SourceError, SourceRef
from nhiscan.sources.documents import ProviderModule, ProviderResult, RawDocument
from nhiscan.sources.exports import EMPTY_EXPORT, iter_inputs


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
