"""Read back what `nhiscan inventory` (or `nhiscan scan --format json`) wrote.

This is how an inventory collected live (or on another machine, or per account of a large
organization) is analysed offline: `nhiscan inventory --aws -o inv.json`, then
`nhiscan scan --input inv.json`.

Both documents hold the same lists (sources, identities, secrets, observations, log_configs); each record
is read on its own, so one malformed record is one error naming the file and the record, and the
rest of the document is kept.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any, TypeVar

from nhiscan import secret_ids
from nhiscan.config import Settings
from nhiscan.errors import content_free
from nhiscan.gcpause import cyclic_gc_paused
from nhiscan.model import Grant, SourceError, SourceRef
from nhiscan.model.serialize import identity_in, log_config_in, observation_in, secret_in, source_in
from nhiscan.sources.documents import ProviderResult, RawDocument

T = TypeVar("T")


def _records(
    doc: RawDocument, key: str, read: Callable[[Mapping[str, Any]], T], result: ProviderResult
) -> list[T]:
    raw = doc.data.get(key)
    if raw is None:
        return []
    if not isinstance(raw, list):
        result.errors.append(
            SourceError(doc.path, f"{key}: expected a list, got {type(raw).__name__}; skipped")
        )
        return []
    out: list[T] = []
    for i, rec in enumerate(raw):
        label = f"{key}[{i}]"
        if isinstance(rec, Mapping) and isinstance(rec.get("id"), str):
            label += f" ({rec['id']})"
        try:
            if not isinstance(rec, Mapping):
                raise TypeError(f"expected an object, got {type(rec).__name__}")
            out.append(read(rec))
        except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as exc:
            what = f"missing {exc}" if isinstance(exc, KeyError) else content_free(str(exc))
            result.errors.append(SourceError(doc.path, f"{label}: malformed record ({what}); skipped"))
    return out


def normalize(docs: Sequence[RawDocument], settings: Settings) -> ProviderResult:
    with cyclic_gc_paused():
        return _normalize(docs)


def _normalize(docs: Sequence[RawDocument]) -> ProviderResult:
    result = ProviderResult()
    for doc in docs:
        sources = _records(doc, "sources", source_in, result)
        shared: dict[tuple[Any, ...], Grant] = {}  # equal statements read into one Grant
        read = functools.partial(identity_in, grants=shared)
        result.identities.extend(_records(doc, "identities", read, result))
        result.partial_identities.extend(_records(doc, "partial_identities", read, result))
        # run:N labels are the file's own: keep them apart from every other file's and this run's
        result.secrets.extend(
            replace(s, hash=secret_ids.file_local(s.hash, doc.path))
            for s in _records(doc, "secrets", secret_in, result)
        )
        result.observations.extend(
            replace(
                o,
                attributes={
                    **o.attributes,
                    "secret_hash": secret_ids.file_local(str(o.attributes["secret_hash"]), doc.path),
                },
            )
            if o.attributes.get("secret_hash")
            else o
            for o in _records(doc, "observations", observation_in, result)
        )
        result.logging.extend(_records(doc, "log_configs", log_config_in, result))
        result.sources.extend(sources or (SourceRef(doc.kind, doc.scope, doc.path),))
    return result
