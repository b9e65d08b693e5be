"""Organization policies that decide whether service-account keys may exist (NHI7).

Two export forms, one kind (``gcp-org-policies``):

- the v1 API, ``gcloud resource-manager org-policies list --project P --format=json`` (or
  ``describe CONSTRAINT --effective``): ``[{constraint: "constraints/iam.X", booleanPolicy: {enforced},
  listPolicy: {allowedValues, deniedValues, allValues}, restoreDefault: {}}]``; it does not name its
  resource, so it needs ``--input projects/P=FILE`` (a bare project id works too);
- the v2 API, ``gcloud org-policies list --project P --format=json`` / ``describe`` (and the REST
  ``policies.list``, ``{policies: [...]}``): ``{name: "projects/P/policies/iam.X", spec: {rules:
  [{enforce: true} | {values: {allowedValues}} | {allowAll} | {denyAll}], reset}}``.

What is kept per resource and constraint: ``enforced`` (True / False; a constraint the export does
not mention is absent: not set there), and for the key-expiry list constraint the allowed values.
A policy listed for an organization or folder applies to every scanned project (nhiscan does not
know the hierarchy); ``--effective`` exports say what applies exactly.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

KEY_CONSTRAINTS = (
    "iam.disableServiceAccountKeyCreation",
    "iam.disableServiceAccountKeyUpload",
    "iam.serviceAccountKeyExpiryHours",
)
_V2_NAME = re.compile(
    r"^(?P<resource>(?:projects|folders|organizations)/[^/]+)/policies/(?P<constraint>[^/]+)$"
)
_RESOURCE = re.compile(r"^(?:projects|folders|organizations)/[^/]+$")


def is_v1(item: Mapping[str, Any]) -> bool:
    return str(item.get("constraint", "")).startswith("constraints/") and any(
        k in item for k in ("booleanPolicy", "listPolicy", "restoreDefault", "etag", "updateTime")
    )


def is_v2(item: Mapping[str, Any]) -> bool:
    return bool(_V2_NAME.match(str(item.get("name", "")))) and ("spec" in item or "dryRunSpec" in item)


def records(data: Any) -> list[Any] | None:
    """The policy records of an export (a list, ``{policies: [...]}``, or one described policy)."""
    if isinstance(data, Mapping):
        data = data["policies"] if isinstance(data.get("policies"), list) else [data]
    if not isinstance(data, list) or not data or not all(isinstance(x, Mapping) for x in data):
        return None
    if all(is_v1(x) or is_v2(x) for x in data):
        return data
    return None


def resource_of(scope: str) -> str:
    scope = scope.strip("/")
    return scope if _RESOURCE.match(scope) else f"projects/{scope}"


def _values(policy: Mapping[str, Any]) -> list[str]:
    vals = policy.get("allowedValues") or []
    return [str(v) for v in vals] if isinstance(vals, list) else []


def _v1(item: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    boolean = item.get("booleanPolicy")
    if isinstance(boolean, Mapping):
        out["enforced"] = bool(boolean.get("enforced", False))
    listed = item.get("listPolicy")
    if isinstance(listed, Mapping):
        out["allowed_values"] = _values(listed)
        out["enforced"] = bool(out["allowed_values"] or listed.get("deniedValues")) and (
            str(listed.get("allValues", "")).upper() != "ALLOW"
        )
    if "restoreDefault" in item:
        out["default"] = True
    return out


def _v2(item: Mapping[str, Any]) -> dict[str, Any]:
    spec = item.get("spec")
    if not isinstance(spec, Mapping):
        return {"dry_run_only": True}
    out: dict[str, Any] = {}
    if spec.get("reset"):
        out["default"] = True
    for rule in spec.get("rules") or ():
        if not isinstance(rule, Mapping) or rule.get("condition"):
            continue  # a conditional rule applies to some resources only
        if "enforce" in rule:
            out["enforced"] = bool(rule["enforce"])
        values = rule.get("values")
        if isinstance(values, Mapping) and values.get("allowedValues"):
            out["allowed_values"] = _values(values)
            out["enforced"] = True
        if rule.get("allowAll"):
            out["enforced"] = False
        if rule.get("denyAll"):
            out["enforced"] = True
    return out


def read(data: Any, scope: str | None) -> dict[str, dict[str, dict[str, Any]]]:
    """resource -> constraint (without ``constraints/``) -> facts, for the key constraints only.

    Raises ValueError when a v1 record has no resource to belong to (no SCOPE given)."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for item in records(data) or ():
        if is_v2(item):
            m = _V2_NAME.match(str(item["name"]))
            assert m is not None
            resource, constraint = m.group("resource"), m.group("constraint")
            facts = _v2(item)
        else:
            if not scope:
                raise ValueError(
                    "a `gcloud resource-manager org-policies` export does not name its project; "
                    "pass it as --input PROJECT_ID=FILE (or organizations/ID=FILE)"
                )
            resource = resource_of(scope)
            constraint = str(item["constraint"]).removeprefix("constraints/")
            facts = _v1(item)
        if constraint in KEY_CONSTRAINTS:
            out.setdefault(resource, {})[constraint] = facts
        else:
            out.setdefault(resource, {})
    return out


def merged_for(
    project: str, policies: Mapping[str, Mapping[str, Mapping[str, Any]]]
) -> dict[str, Any] | None:
    """What the exported policies say for a project: its own policies over those of organizations
    and folders (None when no export covers it)."""
    own = policies.get(f"projects/{project}")
    above = [r for r in policies if not r.startswith("projects/")]
    if own is None and not above:
        return None
    merged: dict[str, Any] = {}
    sources: list[str] = []
    for resource in sorted(above) + ([f"projects/{project}"] if own is not None else []):
        sources.append(resource)
        for constraint, facts in policies[resource].items():
            if facts.get("dry_run_only"):
                continue
            merged[constraint] = {**facts, "set_on": resource}
    return {"constraints": merged, "exported_for": sources}
