"""Workload identity pool providers (``gcloud iam workload-identity-pools providers list
--location=global --workload-identity-pool=POOL --format=json``, or the same records in a Cloud
Asset Inventory ``gcloud asset list --asset-types=iam.googleapis.com/WorkloadIdentityPoolProvider
--content-type=resource --format=json`` export).

A provider is not an identity: it says which external tokens a pool accepts (issuer, audiences,
the CEL ``attributeCondition``) and how their claims become attributes (``attributeMapping``). Each
provider becomes one fact (an observation tagged ``oidc-trust-too-broad``, ``fact:
gcp-wif-provider``) that ``analyze/ci_oidc_gcp.py`` pairs with the pool's members bound on service
accounts (``federated_principals``) and with the workflows that name the provider.
"""

from __future__ import annotations

import re
from typing import Any

from nhiscan.model import Location, Observation

FACT_RULE = "oidc-trust-too-broad"
FACT = "gcp-wif-provider"
ASSET_TYPE = "iam.googleapis.com/WorkloadIdentityPoolProvider"
NAME = re.compile(
    r"^(?://iam\.googleapis\.com/)?projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+)/"
    r"workloadIdentityPools/(?P<pool>[^/]+)/providers/(?P<provider>[^/]+)$"
)
SHAPE = {
    "name": str,
    "displayName": str,
    "description": str,
    "state": str,
    "disabled": bool,
    "attributeMapping": {"*": str},
    "attributeCondition": str,
    "oidc": {"issuerUri": str, "allowedAudiences": [str]},
}


def is_provider(item: Any) -> bool:
    return (
        isinstance(item, dict)
        and bool(NAME.match(str(item.get("name", ""))))
        and "/providers/" in str(item.get("name"))
    )


def is_provider_asset(item: Any) -> bool:
    return (
        isinstance(item, dict)
        and item.get("assetType") == ASSET_TYPE
        and isinstance(item.get("resource"), dict)
        and isinstance(item["resource"].get("data"), dict)
    )


def records(data: Any) -> list[Any]:
    """The provider records of an export: the gcloud list, the REST list's
    ``workloadIdentityPoolProviders``, or the ``resource.data`` of asset records."""
    items = data.get("workloadIdentityPoolProviders", []) if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise ValueError("workloadIdentityPoolProviders: expected a list")
    out = []
    for item in items:
        if is_provider_asset(item):
            record = dict(item["resource"]["data"])
            record.setdefault("name", str(item.get("name", "")).removeprefix("//iam.googleapis.com/"))
            out.append(record)
        else:
            out.append(item)
    return out


def fact(item: dict[str, Any], path: str) -> Observation:
    name = str(item["name"]).removeprefix("//iam.googleapis.com/")
    m = NAME.match(name)
    if m is None:
        raise ValueError(f"name {name!r} is not projects/N/locations/L/workloadIdentityPools/P/providers/X")
    oidc = item.get("oidc") or {}
    condition = item.get("attributeCondition")
    return Observation(
        rule_id=FACT_RULE,
        location=Location(path=path),
        message=f"workload identity pool provider {name}",
        attributes={
            "fact": FACT,
            "name": name,
            "project": m.group("project"),
            "pool": m.group("pool"),
            "provider": m.group("provider"),
            "display_name": item.get("displayName"),
            "state": str(item.get("state") or "ACTIVE").upper(),
            "disabled": bool(item.get("disabled", False)),
            "issuer": oidc.get("issuerUri"),
            "allowed_audiences": list(oidc.get("allowedAudiences") or ()),
            "attribute_mapping": dict(item.get("attributeMapping") or {}),
            "attribute_condition": condition if isinstance(condition, str) and condition.strip() else None,
        },
    )
