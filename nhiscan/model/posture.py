"""How an estate's non-human identities authenticate: static credentials or short-lived ones.

Per provider, every non-human identity falls in one class:

- ``static``: it holds at least one active long-lived credential (an AWS access key, signing
  certificate, SSH key, service-specific credential or console password; a user-managed GCP
  service-account key; an Azure client secret or certificate not yet expired; a legacy Kubernetes
  token Secret);
- ``short_lived``: none of those, and it authenticates with short-lived tokens by construction (an
  AWS role, a GCP service account, an Azure managed identity or an application with a federated
  identity credential, a Kubernetes service account with bound tokens);
- ``none``: no credential nhiscan can see (an IAM user without keys, an application with no secret
  and no exported federation).

``static_share`` is static / all, rounded to three places (None when the provider has no NHIs).
Provider-managed identities (service-linked roles, Google service agents, Microsoft first-party
apps) are left out: their credentials are the provider's.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from nhiscan.model import Credential, Identity

_SHORT_LIVED_KINDS = frozenset(
    {"aws-iam-role", "gcp-service-account", "azure-managed-identity", "kubernetes-service-account"}
)
_STATIC_KINDS = frozenset(
    {
        "aws-access-key",
        "aws-signing-certificate",
        "aws-ssh-key",
        "aws-service-specific-credential",
        "aws-console-password",
        "azure-client-secret",
        "azure-certificate",
        "k8s-sa-token",
    }
)
CLASSES = ("static", "short_lived", "none")


def _static(cred: Credential, as_of: datetime) -> bool:
    if not cred.active or (cred.expires is not None and cred.expires <= as_of):
        return False
    if cred.kind == "gcp-sa-key":
        return bool(cred.attributes.get("key_type", "USER_MANAGED") == "USER_MANAGED")
    return cred.kind in _STATIC_KINDS


def credential_class(ident: Identity, as_of: datetime) -> str:
    if any(_static(c, as_of) for c in ident.credentials):
        return "static"
    if ident.kind in _SHORT_LIVED_KINDS or ident.attributes.get("federated_credentials"):
        return "short_lived"
    return "none"


def credential_posture(identities: tuple[Identity, ...], as_of: datetime) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for ident in identities:
        if not ident.nonhuman or ident.attributes.get("managed_by_provider"):
            continue
        counts = out.setdefault(ident.provider, dict.fromkeys(CLASSES, 0))
        counts[credential_class(ident, as_of)] += 1
    for counts in out.values():
        total = sum(counts[c] for c in CLASSES)
        counts["static_share"] = round(counts["static"] / total, 3) if total else None
    return {p: out[p] for p in sorted(out)}
