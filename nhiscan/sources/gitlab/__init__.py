"""GitLab CI/CD variables exports: which stored variables are protected, masked, environment-scoped.

Each variable becomes one fact for the rule ``gitlab-unprotected-variable-in-mr`` (its key, flags
and environment scope; never its value). The rule matches them with the merge-request jobs of the
GitLab CI files scanned with the export. `--input SCOPE=FILE` names the project the listing belongs
to (its path or name); without a scope it applies to every scanned repository.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from nhiscan.config import Settings
from nhiscan.model import Location, Observation, SourceError, SourceRef
from nhiscan.sources.documents import ProviderResult, RawDocument

RULE = "gitlab-unprotected-variable-in-mr"


def _flag(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return None


def normalize(docs: Sequence[RawDocument], settings: Settings) -> ProviderResult:
    result = ProviderResult()
    for doc in docs:
        for i, item in enumerate(doc.data if isinstance(doc.data, list) else ()):
            key = item.get("key") if isinstance(item, dict) else None
            protected = _flag(item.get("protected")) if isinstance(item, dict) else None
            if not isinstance(key, str) or not key or protected is None:
                result.errors.append(
                    SourceError(
                        doc.path, f"[{i}]: a variable needs a string key and a true/false protected; skipped"
                    )
                )
                continue
            scope = item.get("environment_scope")
            result.observations.append(
                Observation(
                    RULE,
                    Location(path=doc.path),
                    f"GitLab CI/CD variable {key}",
                    {
                        "fact": "gitlab-variable",
                        "variable": key,
                        "protected": protected,
                        "masked": _flag(item.get("masked")) is True or _flag(item.get("hidden")) is True,
                        "variable_type": str(item.get("variable_type") or "env_var"),
                        "environment_scope": scope if isinstance(scope, str) and scope else "*",
                        "project": doc.scope,
                    },
                )
            )
        result.sources.append(SourceRef(doc.kind, doc.scope, doc.path))
    return result
