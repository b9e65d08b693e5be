"""Logging posture: per provider and scope, whether identity activity is recorded, and the gaps.

Input: the inventory's ``LogConfig`` records (one per kind and scope; see nhiscan.model) and, to
name scopes nothing tells about, the scopes of its identities. Output (the result's ``logging``)::

    {"aws": {"status": "partial", "scopes": [{"scope": "111122223333", "status": "partial",
             "logged": [...], "not_logged": [...], "gaps": [{"rule": ..., "severity": ..., ...}]}]}}

``status`` is ``logged`` | ``partial`` | ``not-logged`` | ``unknown`` (no export tells). A gap
names the rule it is reported under; the ``logging_posture`` check turns gaps into findings, so the
summary and the findings come from one evaluation. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from nhiscan.analyze.logging_aws import evaluate_account
from nhiscan.analyze.logging_other import (
    evaluate_activity_log,
    evaluate_cluster,
    evaluate_entra,
    evaluate_gcp,
)
from nhiscan.model import Identity, Inventory, LogConfig

STATUSES = ("logged", "partial", "not-logged", "unknown")
PROVIDERS = ("aws", "gcp", "azure", "kubernetes")


@dataclass
class ScopeVerdict:
    """What one scope (account, project, subscription, tenant, cluster) logs."""

    scope: str
    status: str
    what: str = ""
    logged: list[str] = field(default_factory=list)
    not_logged: list[str] = field(default_factory=list)
    gaps: list[dict[str, Any]] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    source: str | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"scope": self.scope, "what": self.what, "status": self.status}
        out["logged"] = list(self.logged)
        out["not_logged"] = list(self.not_logged)
        out["gaps"] = [dict(g) for g in self.gaps]
        if self.details:
            out["details"] = dict(self.details)
        if self.source:
            out["source"] = self.source
        return out


def overall(statuses: Iterable[str]) -> str:
    """A provider's status from its scopes': one status when all agree, else ``partial``."""
    seen = set(statuses)
    if not seen:
        return "unknown"
    if len(seen) == 1:
        return seen.pop()
    return "partial"


def posture(inventory: Inventory) -> dict[str, Any]:
    """The per-provider logging posture of a scan (only providers the scan saw)."""
    by_kind: dict[str, list[LogConfig]] = {}
    # scopes in id order, not read order: shards merged in any order give the unsharded posture
    for cfg in sorted(inventory.logging, key=lambda c: c.scope):
        by_kind.setdefault(cfg.kind, []).append(cfg)
    scopes = _identity_scopes(inventory.identities)
    verdicts: dict[str, list[ScopeVerdict]] = {p: [] for p in PROVIDERS}

    seen_aws = set()
    for cfg in by_kind.get("aws-cloudtrail", ()):
        verdicts["aws"].append(evaluate_account(cfg))
        seen_aws.add(cfg.scope)
    for account in sorted(scopes.get("aws", set()) - seen_aws):
        verdicts["aws"].append(_unknown(account, "CloudTrail", "aws cloudtrail describe-trails"))

    gcp_cfgs = by_kind.get("gcp-audit-configs", [])
    ancestors = [c for c in gcp_cfgs if not c.scope.startswith("projects/")]
    seen_gcp = set()
    for cfg in gcp_cfgs:
        verdicts["gcp"].append(evaluate_gcp(cfg, ancestors))
        seen_gcp.add(cfg.scope)
    for project in sorted(scopes.get("gcp", set())):
        if f"projects/{project}" not in seen_gcp:
            verdicts["gcp"].append(
                _unknown(f"projects/{project}", "Cloud Audit Logs", "gcloud projects get-iam-policy")
            )

    seen_subs = set()
    for cfg in by_kind.get("azure-activity-log", ()):
        verdicts["azure"].append(evaluate_activity_log(cfg))
        seen_subs.add(cfg.scope.lower())
    for sub in sorted(scopes.get("azure-subscription", set())):
        if sub.lower() not in seen_subs:
            verdicts["azure"].append(
                _unknown(sub, "Activity Log", "az monitor diagnostic-settings subscription list")
            )
    seen_tenants = set()
    for cfg in by_kind.get("azure-entra-diagnostics", ()):
        verdicts["azure"].append(evaluate_entra(cfg))
        seen_tenants.add(cfg.scope.lower())
    for tenant in sorted(scopes.get("azure", set())):
        if tenant.lower() not in seen_tenants and "tenant" not in seen_tenants:
            verdicts["azure"].append(
                _unknown(tenant, "Entra ID sign-in and audit logs", "Entra ID diagnostic settings (az rest)")
            )

    seen_clusters = set()
    for cfg in by_kind.get("kubernetes-audit", ()):
        verdicts["kubernetes"].append(evaluate_cluster(cfg, gcp_cfgs))
        seen_clusters.add(cfg.scope)
    for cluster in sorted(scopes.get("kubernetes", set()) - seen_clusters):
        verdicts["kubernetes"].append(
            _unknown(
                cluster,
                "API server audit log",
                "aws eks describe-cluster, gcloud container clusters describe, AKS diagnostic "
                "settings or the kube-apiserver pod of kube-system",
            )
        )

    out: dict[str, Any] = {}
    for provider in PROVIDERS:
        found = verdicts[provider]
        if found:
            out[provider] = {
                "status": overall(v.status for v in found),
                "scopes": [v.as_dict() for v in found],
            }
    return out


def statuses(logging: Mapping[str, Any]) -> dict[str, str]:
    """``{provider: status}``: the short form the result's summary carries."""
    return {p: str(v.get("status", "unknown")) for p, v in logging.items() if isinstance(v, Mapping)}


def gaps(logging: Mapping[str, Any], rule_id: str) -> Iterable[tuple[str, str, Mapping[str, Any]]]:
    """(provider, scope, gap) of every gap reported under ``rule_id``."""
    for provider, entry in logging.items():
        for scope in entry.get("scopes") or ():
            for gap in scope.get("gaps") or ():
                if gap.get("rule") == rule_id:
                    yield provider, str(scope.get("scope")), gap


def scope_source(logging: Mapping[str, Any], provider: str, scope: str) -> str | None:
    """The export (or live source) a provider scope's logging facts came from, if any."""
    entry = logging.get(provider)
    for item in (entry.get("scopes") or ()) if isinstance(entry, Mapping) else ():
        if isinstance(item, Mapping) and item.get("scope") == scope and isinstance(item.get("source"), str):
            return str(item["source"])
    return None


def _unknown(scope: str, what: str, export: str) -> ScopeVerdict:
    return ScopeVerdict(
        scope=scope,
        status="unknown",
        what=what,
        not_logged=[],
        details={"reason": f"no export tells (add {export})"},
    )


def _identity_scopes(identities: Sequence[Identity]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for ident in identities:
        if ident.scope:
            out.setdefault(ident.provider, set()).add(ident.scope)
        if ident.provider == "azure":
            for grant in ident.grants:
                parts = grant.scope.split("/")
                if len(parts) > 2 and parts[1].lower() == "subscriptions" and parts[2]:
                    out.setdefault("azure-subscription", set()).add(parts[2])
    return out
