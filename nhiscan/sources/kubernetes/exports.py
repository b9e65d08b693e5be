"""Recognise kubectl JSON/YAML output by its content.

`kubectl get serviceaccounts,rolebindings,clusterrolebindings,roles,clusterroles,secrets -A -o json`
writes one ``{"kind": "List", "items": [...]}``; a single resource type writes e.g.
``ServiceAccountList``; `kubectl get sa NAME -o json` writes one object. All are kind
``kubernetes-objects``; normalize dispatches on each item's kind.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nhiscan.sources import Parsed

RBAC_KINDS = frozenset(
    {"ServiceAccount", "Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding", "Secret"}
)
LIST_KINDS = frozenset({"List"} | {f"{k}List" for k in RBAC_KINDS})


def _is_object(x: Any) -> bool:
    return isinstance(x, dict) and isinstance(x.get("metadata"), dict) and isinstance(x.get("kind"), str)


def detect(parsed: Parsed) -> str | None:
    data = parsed.data if parsed.is_structured else None
    if not isinstance(data, dict) or "apiVersion" not in data:
        return None
    kind = data.get("kind")
    if kind in LIST_KINDS and isinstance(data.get("items"), list):
        items = data["items"]
        if all(_is_object(i) for i in items) and (
            kind != "List" or not items or any(i["kind"] in RBAC_KINDS for i in items)
        ):
            return "kubernetes-objects"
        return None
    if kind in RBAC_KINDS and _is_object(data):
        return "kubernetes-objects"
    return None
