"""Azure diagnostic settings: where the Activity Log, Entra ID logs and AKS audit logs are sent.

One export kind, ``azure-diagnostic-settings``, read from any of:

- ``az monitor diagnostic-settings subscription list`` (a subscription's Activity Log settings;
  ids ``/subscriptions/SUB/providers/microsoft.insights/diagnosticSettings/NAME``);
- ``az rest --url https://management.azure.com/providers/microsoft.aadiam/diagnosticSettings?api-version=2017-04-01``
  (Entra ID's settings; ids ``/providers/microsoft.aadiam/diagnosticSettings/NAME``);
- ``az monitor diagnostic-settings list --resource AKS_CLUSTER_ID`` (an AKS cluster's settings).

Each is ``{"value": [...]}`` or a plain list, a setting's fields at the top level or under
``properties`` (CLI versions differ). A setting counts when it has a destination (workspace,
storage account, event hub or partner solution); its ``logs`` name categories (or category groups
``allLogs`` / ``audit``) with ``enabled``. An empty ``{"value": []}`` names nobody: it needs
``--input subscriptions/SUB_ID=FILE`` or ``--input tenants/TENANT_ID=FILE``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from nhiscan.model import LogConfig, SourceError
from nhiscan.sources.documents import ProviderResult, RawDocument
from nhiscan.sources.shape import check, label

KIND = "azure-diagnostic-settings"
_DESTINATIONS = {
    "workspaceId": "log-analytics",
    "storageAccountId": "storage",
    "eventHubAuthorizationRuleId": "event-hub",
    "marketplacePartnerId": "partner",
}
_SETTING_SHAPE = {
    "id": str,
    "name": str,
    "logs": [{"category": str, "categoryGroup": str, "enabled": bool}],
    **{k: str for k in _DESTINATIONS},
}
_ENTRA_CATEGORIES = {"auditlogs", "signinlogs", "serviceprincipalsigninlogs", "managedidentitysigninlogs"}
_SUBSCRIPTION = re.compile(
    r"^/?subscriptions/([^/]+)(?:/providers/microsoft\.insights/diagnosticsettings/|/?$)", re.I
)
_CLUSTER = re.compile(r"/providers/microsoft\.containerservice/managedclusters/([^/]+)", re.I)
_TENANT_SCOPE = re.compile(r"^/?(?:tenants/)?([0-9a-f-]{36})$", re.I)


def is_setting(item: Any) -> bool:
    if not isinstance(item, Mapping):
        return False
    props = item.get("properties") if isinstance(item.get("properties"), Mapping) else item
    logs = props.get("logs") if isinstance(props, Mapping) else None
    return isinstance(logs, list) and all(
        isinstance(x, Mapping) and ("category" in x or "categoryGroup" in x) for x in logs
    )


def flat(item: Mapping[str, Any]) -> dict[str, Any]:
    props = item.get("properties")
    out = dict(props) if isinstance(props, Mapping) else dict(item)
    for key in ("id", "name", "type"):
        if key in item:
            out[key] = item[key]
    return out


def _what(setting: Mapping[str, Any]) -> tuple[str, str | None]:
    """("activity", SUB) | ("entra", None) | ("aks", CLUSTER) | ("unknown", None)."""
    ident = str(setting.get("id") or "")
    kind = str(setting.get("type") or "").lower()
    if "/microsoft.aadiam/" in ident.lower() or kind.startswith("microsoft.aadiam"):
        return "entra", None
    cluster = _CLUSTER.search(ident)
    if cluster:
        return "aks", cluster.group(1)
    sub = _SUBSCRIPTION.match(ident)
    if sub:
        return "activity", sub.group(1)
    cats = {str(x.get("category") or "").lower() for x in setting.get("logs") or ()}
    if cats & _ENTRA_CATEGORIES:
        return "entra", None
    if any(c.startswith("kube-") for c in cats):
        return "aks", None
    if "administrative" in cats:
        return "activity", None
    return "unknown", None


def summary(setting: Mapping[str, Any]) -> dict[str, Any]:
    categories: dict[str, bool] = {}
    for log in setting.get("logs") or ():
        name = log.get("category") or log.get("categoryGroup")
        if name:
            categories[str(name)] = categories.get(str(name), False) or log.get("enabled") is True
    return {
        "name": setting.get("name"),
        "id": setting.get("id"),
        "destinations": [v for k, v in _DESTINATIONS.items() if setting.get(k)],
        "categories": categories,
    }


def load(
    doc: RawDocument, tenant: str, result: ProviderResult, out: dict[tuple[str, str], dict[str, Any]]
) -> None:
    """Read one diagnostic settings export into ``out`` ((kind, scope) -> {settings, path})."""
    data = doc.data
    items = data.get("value") if isinstance(data, Mapping) else data
    if not isinstance(items, list):
        raise ValueError("value: expected a list")
    scope = (doc.scope or "").strip()
    if not items:
        sub_scope = _SUBSCRIPTION.match(scope)
        ten = _TENANT_SCOPE.match(scope)
        if sub_scope:
            out.setdefault(("azure-activity-log", sub_scope.group(1)), {"settings": [], "path": doc.path})
        elif ten or scope.lower() in ("tenant", "tenants"):
            out.setdefault(
                ("azure-entra-diagnostics", ten.group(1) if ten else tenant or "tenant"),
                {"settings": [], "path": doc.path},
            )
        else:
            raise ValueError(
                "an empty list of diagnostic settings does not say whose it is; pass it as "
                "--input subscriptions/SUBSCRIPTION_ID=FILE (Activity Log) or "
                "--input tenants/TENANT_ID=FILE (Entra ID)"
            )
        return
    for i, item in enumerate(items):
        setting = flat(item) if isinstance(item, Mapping) else item
        try:
            check(setting, _SETTING_SHAPE, nullable=False)
        except ValueError as exc:
            result.errors.append(SourceError(doc.path, f"[{i}]{label(setting, 'name')}: {exc}; skipped"))
            continue
        what, named = _what(setting)
        key: tuple[str, str]
        if what == "activity":
            given = _SUBSCRIPTION.match(scope)
            sub = named or (given.group(1) if given else None)
            if not sub:
                result.errors.append(
                    SourceError(
                        doc.path,
                        f"[{i}]{label(setting, 'name')}: names no subscription; pass --input subscriptions/SUB_ID=FILE",
                    )
                )
                continue
            key = ("azure-activity-log", sub)
        elif what == "entra":
            named_tenant = _TENANT_SCOPE.match(scope)
            key = ("azure-entra-diagnostics", named_tenant.group(1) if named_tenant else tenant or "tenant")
        elif what == "aks":
            key = ("kubernetes-audit", named or scope or "default")
        else:
            result.errors.append(
                SourceError(
                    doc.path,
                    f"[{i}]{label(setting, 'name')}: not a subscription, Entra ID or AKS diagnostic setting; skipped",
                )
            )
            continue
        out.setdefault(key, {"settings": [], "path": doc.path})["settings"].append(summary(setting))


def configs(found: Mapping[tuple[str, str], Mapping[str, Any]]) -> list[LogConfig]:
    out: list[LogConfig] = []
    for (kind, scope), entry in sorted(found.items()):
        settings = list(entry["settings"])
        if kind == "kubernetes-audit":
            sent = {
                c.lower() for s in settings if s["destinations"] for c, on in s["categories"].items() if on
            }
            audit = bool(sent & {"kube-audit", "kube-audit-admin", "audit", "alllogs"})
            attrs: dict[str, Any] = {"source": "aks", "audit": audit, "exported": sorted(sent)}
            if not audit:
                attrs["why"] = "no diagnostic setting exports kube-audit or kube-audit-admin"
            out.append(LogConfig("kubernetes", kind, scope, attrs, entry["path"]))
        else:
            out.append(LogConfig("azure", kind, scope, {"settings": settings}, entry["path"]))
    return out
