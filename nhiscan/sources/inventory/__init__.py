"""Read back what `nhiscan inventory` (or `nhiscan scan --format json`) wrote.

This is how an inventory collected live (or on another machine, or per account of a large
organization) is analysed offline: `nhiscan inventory --aws -o inv.json`, then
`nhiscan scan --input inv.json`.
"""

from __future__ import annotations

from collections.abc import Sequence

from nhiscan.config import Settings
from nhiscan.model import SourceError, SourceRef
from nhiscan.model.serialize import inventory_from_dict, report_from_dict
from nhiscan.sources import ProviderResult, RawDocument


def normalize(docs: Sequence[RawDocument], settings: Settings) -> ProviderResult:
    result = ProviderResult()
    for doc in docs:
        try:
            if doc.kind == "nhiscan-result":
                inv = report_from_dict(doc.data).inventory
            else:
                inv = inventory_from_dict(doc.data)
        except (KeyError, TypeError, ValueError) as exc:
            result.errors.append(SourceError(doc.path, f"malformed nhiscan {doc.kind} document: {exc}"))
            continue
        result.identities.extend(inv.identities)
        result.secrets.extend(inv.secrets)
        result.observations.extend(inv.observations)
        result.sources.extend(inv.sources or (SourceRef(doc.kind, doc.scope, doc.path),))
    return result
