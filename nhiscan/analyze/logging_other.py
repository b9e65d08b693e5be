"""GCP, Azure and Kubernetes: is identity activity recorded (see nhiscan.analyze.logging)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from nhiscan.analyze.logging_aws import _gap
from nhiscan.model import LogConfig

if TYPE_CHECKING:
    from nhiscan.analyze.logging import ScopeVerdict

# --- GCP ----------------------------------------------------------------------------------------
# Admin Activity audit logs (IAM policy changes, service account and key creation) are always
# written; Data Access logs (ADMIN_READ, DATA_READ, DATA_WRITE) are off unless audit configs turn
# them on: they record key listing, token minting and token exchange, denied requests included.
GCP_SERVICES = ("iam.googleapis.com", "sts.googleapis.com")
LOG_TYPES = ("ADMIN_READ", "DATA_READ", "DATA_WRITE")
GCP_RULE = "gcp-iam-data-access-not-logged"
EXEMPT_RULE = "gcp-audit-log-exempts-service-account"


def _audit_configs(cfg: LogConfig) -> list[Mapping[str, Any]]:
    return [c for c in cfg.attributes.get("audit_configs") or () if isinstance(c, Mapping)]


def gcp_enabled(configs: Sequence[Mapping[str, Any]], service: str) -> dict[str, list[str]]:
    """log type -> members exempted, for each log type ``service`` has on (via itself or allServices)."""
    out: dict[str, list[str]] = {}
    for conf in configs:
        if str(conf.get("service")) not in (service, "allServices"):
            continue
        for log in conf.get("auditLogConfigs") or ():
            if not isinstance(log, Mapping):
                continue
            log_type = str(log.get("logType") or "").upper()
            if log_type in LOG_TYPES:
                members = out.setdefault(log_type, [])
                members.extend(str(m) for m in log.get("exemptedMembers") or () if str(m) not in members)
    return out


def evaluate_gcp(cfg: LogConfig, ancestors: Sequence[LogConfig]) -> ScopeVerdict:
    from nhiscan.analyze.logging import ScopeVerdict

    verdict = ScopeVerdict(
        scope=cfg.scope, status="unknown", what="Cloud Audit Logs (Data Access)", source=cfg.path
    )
    own = _audit_configs(cfg)
    inherited = [a for a in ancestors if a.scope != cfg.scope] if cfg.scope.startswith("projects/") else []
    configs = own + [c for a in inherited for c in _audit_configs(a)]
    if inherited:
        verdict.details["inherited_from"] = [a.scope for a in inherited]
        verdict.details["note"] = (
            "folder and organization audit configs in the scan are taken as this project's "
            "ancestors (the exports do not name its ancestry)"
        )
    missing: list[str] = []
    for service in GCP_SERVICES:
        on = gcp_enabled(configs, service)
        for log_type in LOG_TYPES:
            text = f"{service} {log_type}"
            (verdict.logged if log_type in on else verdict.not_logged).append(text)
            if log_type not in on:
                missing.append(text)
    verdict.logged.insert(0, "Admin Activity (always on: IAM policy, service account and key changes)")
    total = len(GCP_SERVICES) * len(LOG_TYPES)
    verdict.status = "logged" if not missing else ("not-logged" if len(missing) == total else "partial")
    exempted = _exemptions(cfg, configs)
    if exempted and verdict.status == "logged":
        verdict.status = "partial"
    for member, where in sorted(exempted.items()):
        verdict.not_logged.append(f"calls of {member} ({', '.join(where)})")
    if missing and cfg.scope.startswith("projects/"):
        verdict.gaps.append(
            _gap(
                GCP_RULE,
                "medium" if len(missing) < total else None,
                f"{cfg.scope}: Data Access audit logs are off for {', '.join(missing)}: "
                + _unrecorded(missing)
                + " are not recorded, denied requests included. Admin Activity logs (always on) "
                "record only identity changes.",
                cfg.scope,
                {"missing": missing},
            )
        )
    for member, where in sorted(exempted.items()):
        identity_covered = any(w.split(" ")[0] in (*GCP_SERVICES, "allServices") for w in where)
        verdict.gaps.append(
            _gap(
                EXEMPT_RULE,
                None if identity_covered else "medium",
                f"{cfg.scope}: {member} is exempted from audit logs ({', '.join(where)}): its calls "
                "are not recorded, so misuse of it cannot be seen.",
                f"{cfg.scope}:{member}",
                {"member": member, "exempted": where},
            )
            | {"identity": member.partition(":")[2]}
        )
    return verdict


def _unrecorded(missing: Sequence[str]) -> str:
    """What the missing Data Access log types leave unrecorded, in words."""
    parts = []
    if any(m.startswith("iam.") for m in missing):
        parts.append(
            "reads of IAM data (keys, policies) and service account token minting "
            "(generateAccessToken, signJwt)"
        )
    if any(m.startswith("sts.") for m in missing):
        parts.append("STS token exchanges (workload identity federation)")
    return " and ".join(parts) or "identity calls"


def _exemptions(cfg: LogConfig, configs: Sequence[Mapping[str, Any]]) -> dict[str, list[str]]:
    """service account member -> "SERVICE LOGTYPE" entries it is exempted from (any service)."""
    out: dict[str, list[str]] = {}
    for conf in configs:
        for log in conf.get("auditLogConfigs") or ():
            if not isinstance(log, Mapping):
                continue
            for member in log.get("exemptedMembers") or ():
                if str(member).startswith("serviceAccount:"):
                    entry = f"{conf.get('service')} {str(log.get('logType') or '').upper()}"
                    out.setdefault(str(member), []).append(entry)
    return out


# --- Azure --------------------------------------------------------------------------------------
ACTIVITY_RULE = "azure-activity-log-not-exported"
SIGNIN_RULE = "azure-identity-signin-logs-not-exported"
ENTRA_CATEGORIES = ("ServicePrincipalSignInLogs", "ManagedIdentitySignInLogs", "AuditLogs")


def exported(cfg: LogConfig) -> dict[str, list[str]]:
    """category -> names of the settings that send it somewhere (enabled, with a destination)."""
    out: dict[str, list[str]] = {}
    for setting in cfg.attributes.get("settings") or ():
        if not isinstance(setting, Mapping) or not setting.get("destinations"):
            continue
        for category, enabled in (setting.get("categories") or {}).items():
            if enabled:
                out.setdefault(str(category).lower(), []).append(str(setting.get("name")))
    return out


def evaluate_activity_log(cfg: LogConfig) -> ScopeVerdict:
    from nhiscan.analyze.logging import ScopeVerdict

    verdict = ScopeVerdict(
        scope=cfg.scope, status="not-logged", what="Activity Log diagnostic settings", source=cfg.path
    )
    sent = exported(cfg)
    for category in ("Administrative", "Security", "Policy"):
        (verdict.logged if category.lower() in sent else verdict.not_logged).append(category)
    if "administrative" in sent:
        verdict.status = "logged" if len(verdict.not_logged) == 0 else "partial"
        verdict.details["settings"] = sent["administrative"]
    else:
        verdict.gaps.append(
            _gap(
                ACTIVITY_RULE,
                None,
                f"Subscription {cfg.scope}: no diagnostic setting exports the Activity Log's "
                "Administrative category: role assignments, managed identity and credential changes "
                "are kept only 90 days in the Activity Log and reach no SIEM.",
                cfg.scope,
                {"exported": sorted(sent)},
            )
        )
    return verdict


def evaluate_entra(cfg: LogConfig) -> ScopeVerdict:
    from nhiscan.analyze.logging import ScopeVerdict

    verdict = ScopeVerdict(
        scope=cfg.scope, status="unknown", what="Entra ID diagnostic settings", source=cfg.path
    )
    sent = exported(cfg)
    missing = [c for c in ENTRA_CATEGORIES if c.lower() not in sent]
    for category in ENTRA_CATEGORIES:
        (verdict.not_logged if category in missing else verdict.logged).append(category)
    verdict.status = (
        "logged" if not missing else ("not-logged" if len(missing) == len(ENTRA_CATEGORIES) else "partial")
    )
    if missing:
        verdict.gaps.append(
            _gap(
                SIGNIN_RULE,
                None if any("SignIn" in m for m in missing) else "medium",
                f"Tenant {cfg.scope}: no Entra ID diagnostic setting exports {', '.join(missing)}: "
                "service principal and managed identity sign-ins (failed ones included) are kept by "
                "Entra ID for 30 days at most (7 without a premium licence) and reach no SIEM.",
                cfg.scope,
                {"missing": missing},
            )
        )
    return verdict


# --- Kubernetes ---------------------------------------------------------------------------------
K8S_RULE = "k8s-audit-logging-off"
_GKE_PROJECT = re.compile(r"/projects/([^/]+)/")


def evaluate_cluster(cfg: LogConfig, gcp_cfgs: Sequence[LogConfig]) -> ScopeVerdict:
    from nhiscan.analyze.logging import ScopeVerdict

    attrs = cfg.attributes
    source = str(attrs.get("source") or "")
    verdict = ScopeVerdict(
        scope=cfg.scope, status="unknown", what=f"API server audit log ({source})", source=cfg.path
    )
    verdict.details = {k: v for k, v in attrs.items() if k != "source"}
    audit = attrs.get("audit")
    if source == "gke":
        # GKE writes Kubernetes audit logs to Cloud Audit Logs: writes always (Admin Activity),
        # reads only with Data Access logs for k8s.io in the cluster's project.
        verdict.logged.append("API writes (Admin Activity, always on)")
        m = _GKE_PROJECT.search(str(attrs.get("self_link") or ""))
        project = next((c for c in gcp_cfgs if m and c.scope == f"projects/{m.group(1)}"), None)
        reads = None
        if project is not None:
            reads = "DATA_READ" in gcp_enabled(_audit_configs(project), "k8s.io")
        if reads:
            verdict.logged.append("API reads (Data Access for k8s.io)")
            verdict.status = "logged"
        else:
            verdict.not_logged.append(
                "API reads (Data Access for k8s.io is off)"
                if reads is False
                else "API reads (unknown: no project audit configs)"
            )
            verdict.status = "partial"
        return verdict
    if audit is True:
        verdict.status = "logged"
        verdict.logged.append("API server audit events")
        for note in attrs.get("notes") or ():
            verdict.not_logged.append(str(note))
    elif audit is False:
        verdict.status = "not-logged"
        verdict.not_logged.append("API server audit events")
        verdict.gaps.append(
            _gap(
                K8S_RULE,
                None,
                f"Cluster {cfg.scope}: {attrs.get('why') or 'the API server writes no audit log'}: "
                "what service accounts (and anyone using their tokens) do through the API, denied "
                "requests included, is not recorded.",
                cfg.scope,
                {"source": source},
            )
        )
    return verdict
