"""Which workloads act as which cloud identity: Kubernetes service accounts federated through
annotations (EKS IRSA, GKE Workload Identity, Azure Workload Identity) and trust-policy principals.

Kubernetes service accounts carry the annotations in ``attributes["annotations"]`` (the object's
metadata), under their own keys in ``attributes``, or as the attributes the Kubernetes normalizer
copies them to (``aws_role_arn``, ``gcp_service_account``, ``azure_client_id``); all are read.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from nhiscan.model import Identity

ANNOTATIONS = {
    "eks.amazonaws.com/role-arn": "aws",
    "iam.gke.io/gcp-service-account": "gcp",
    "azure.workload.identity/client-id": "azure",
}
# The attribute names the Kubernetes normalizer copies those annotations to.
_FLATTENED = {
    "aws_role_arn": "eks.amazonaws.com/role-arn",
    "gcp_service_account": "iam.gke.io/gcp-service-account",
    "azure_client_id": "azure.workload.identity/client-id",
}
_SUBJECT_KEYS = (":sub", "sub", "subject")


@dataclass(frozen=True)
class Federation:
    workload: Identity
    provider: str
    target: str  # role ARN, service-account email or application (client) id
    annotation: str


def _annotations(ident: Identity) -> Mapping[str, Any]:
    nested = ident.attributes.get("annotations")
    merged: dict[str, Any] = {}
    if isinstance(nested, Mapping):
        merged.update(nested)
    for key in ANNOTATIONS:
        if key in ident.attributes:
            merged.setdefault(key, ident.attributes[key])
    for attr, key in _FLATTENED.items():
        if attr in ident.attributes:
            merged.setdefault(key, ident.attributes[attr])
    return merged


def federations(identities: Iterable[Identity]) -> list[Federation]:
    out: list[Federation] = []
    for ident in identities:
        if ident.provider != "kubernetes":
            continue
        for key, value in _annotations(ident).items():
            provider = ANNOTATIONS.get(key)
            if provider and isinstance(value, str) and value.strip():
                out.append(Federation(ident, provider, value.strip(), key))
    return out


def _role_key(arn: str) -> str:
    """arn:aws:iam::ACCOUNT:role/path/name -> ACCOUNT:name (a role name is unique per account)."""
    parts = arn.split(":", 5)
    if len(parts) == 6 and parts[5].startswith("role/"):
        return f"{parts[4]}:{parts[5].rsplit('/', 1)[-1]}".lower()
    return arn.lower()


class TargetResolver:
    """Find the inventoried identity a federation annotation points at."""

    def __init__(self, identities: Iterable[Identity]) -> None:
        self._by_key: dict[tuple[str, str], Identity] = {}
        for ident in identities:
            if ident.provider == "aws":
                self._by_key.setdefault(("aws", _role_key(ident.id)), ident)
            elif ident.provider == "gcp":
                for cand in (ident.attributes.get("email"), ident.name, ident.id.rsplit("/", 1)[-1]):
                    if isinstance(cand, str) and "@" in cand:
                        self._by_key.setdefault(("gcp", cand.lower()), ident)
            elif ident.provider == "azure":
                for key in ("appId", "app_id", "client_id"):
                    value = ident.attributes.get(key)
                    if isinstance(value, str):
                        self._by_key.setdefault(("azure", value.lower()), ident)

    def resolve(self, provider: str, target: str) -> Identity | None:
        key = _role_key(target) if provider == "aws" else target.lower()
        return self._by_key.get((provider, key))


def trust_workloads(ident: Identity) -> list[str]:
    """Distinct principals allowed to act as this identity, one label per workload.

    Federated trusts with subject conditions count once per subject (each is a workload); services
    and other principals count once each.
    """
    seen: dict[str, None] = {}
    for t in ident.trusts:
        if t.effect.lower() != "allow":
            continue
        subjects = []
        for _op, cond in t.conditions.items():
            if not isinstance(cond, Mapping):
                continue
            for key, value in cond.items():
                if any(str(key).endswith(s) for s in _SUBJECT_KEYS):
                    subjects.extend(value if isinstance(value, list) else [value])
        if subjects:
            for s in subjects:
                seen[f"{t.principal} sub={s}"] = None
        else:
            seen[f"{t.principal_type}:{t.principal}"] = None
    return list(seen)
