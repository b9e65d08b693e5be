"""Recognise gcloud JSON exports by their content.

Kinds:
  gcp-service-accounts       `gcloud iam service-accounts list --format=json`
  gcp-service-account-keys   `gcloud iam service-accounts keys list --iam-account=SA --format=json`
  gcp-iam-policy             `gcloud projects get-iam-policy PROJECT --format=json` (names no project)
  gcp-asset-iam-policies     `gcloud asset search-all-iam-policies --format=json`
  gcp-org-policies           `gcloud resource-manager org-policies list --project P --format=json`
                             (names no project) or `gcloud org-policies list --project P
                             --format=json` / `describe` (v2: each policy names its resource)
  gcp-roles                  `gcloud iam roles describe ROLE [--project P | --organization O]
                             --format=json` (one role, or a list of them): the permissions of a
                             custom (or predefined) role, which bindings name only by role
  gcp-workload-identity-providers  `gcloud iam workload-identity-pools providers list
                             --location=global --workload-identity-pool=POOL --format=json`, or
                             `gcloud asset list --asset-types=iam.googleapis.com/WorkloadIdentityPoolProvider
                             --content-type=resource --format=json` (sources/gcp/wif.py)
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from nhiscan.sources.gcp import org_policy, wif

if TYPE_CHECKING:
    from nhiscan.sources.documents import Parsed


def _all_dicts(items: list[Any]) -> bool:
    return bool(items) and all(isinstance(x, dict) for x in items)


def _is_sa(item: dict[str, Any]) -> bool:
    return (
        "email" in item
        and "uniqueId" in item
        and "/serviceAccounts/" in str(item.get("name", ""))
        and "/keys/" not in str(item.get("name", ""))
    )


def _is_key(item: dict[str, Any]) -> bool:
    name = str(item.get("name", ""))
    return (
        "/serviceAccounts/" in name and "/keys/" in name and ("keyType" in item or "validAfterTime" in item)
    )


def _is_asset_policy(item: dict[str, Any]) -> bool:
    return "resource" in item and isinstance(item.get("policy"), dict) and "assetType" in item


_ROLE_NAME = re.compile(r"^(?:(?:projects|organizations)/[^/]+/)?roles/[^/]+$")


def _is_role(item: dict[str, Any]) -> bool:
    return bool(_ROLE_NAME.match(str(item.get("name", "")))) and isinstance(
        item.get("includedPermissions"), list
    )


def _is_policy(data: dict[str, Any]) -> bool:
    bindings = data.get("bindings")
    if not isinstance(bindings, list) or not ("etag" in data or "version" in data):
        return False
    return all(isinstance(b, dict) and "role" in b and "members" in b for b in bindings)


def detect(parsed: Parsed) -> str | None:
    data = parsed.data if parsed.is_structured else None
    if (isinstance(data, (dict, list))) and org_policy.records(data) is not None:
        return "gcp-org-policies"
    if isinstance(data, dict):
        if _is_policy(data):
            return "gcp-iam-policy"
        if _is_role(data):
            return "gcp-roles"
        # The REST form of the service-account and key lists wraps them.
        if isinstance(data.get("accounts"), list) and _all_dicts(data["accounts"]):
            return "gcp-service-accounts" if all(_is_sa(x) for x in data["accounts"]) else None
        if isinstance(data.get("keys"), list) and _all_dicts(data["keys"]):
            return "gcp-service-account-keys" if all(_is_key(x) for x in data["keys"]) else None
        providers = data.get("workloadIdentityPoolProviders")
        if (
            isinstance(providers, list)
            and _all_dicts(providers)
            and all(wif.is_provider(x) for x in providers)
        ):
            return "gcp-workload-identity-providers"
        if isinstance(data.get("results"), list) and _all_dicts(data["results"]):
            return "gcp-asset-iam-policies" if all(_is_asset_policy(x) for x in data["results"]) else None
        return None
    if isinstance(data, list) and _all_dicts(data):
        if all(_is_sa(x) for x in data):
            return "gcp-service-accounts"
        if all(_is_key(x) for x in data):
            return "gcp-service-account-keys"
        if all(_is_asset_policy(x) for x in data):
            return "gcp-asset-iam-policies"
        if all(_is_role(x) for x in data):
            return "gcp-roles"
        if all(wif.is_provider(x) for x in data) or all(wif.is_provider_asset(x) for x in data):
            return "gcp-workload-identity-providers"
    return None
