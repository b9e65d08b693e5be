"""Recognise kubectl JSON/YAML output by its content.

`kubectl get serviceaccounts,rolebindings,clusterrolebindings,roles,clusterroles,secrets -A -o json`
writes one ``{"kind": "List", "items": [...]}``; a single resource type writes e.g.
``ServiceAccountList``; `kubectl get sa NAME -o json` writes one object. All are kind
``kubernetes-objects``; normalize dispatches on each item's kind. A list of pods holding the
kube-apiserver pod (`kubectl get pods -n kube-system -o json`) is one too (its audit flags).

Cluster descriptions (for audit logging, see audit.py): ``kubernetes-eks-cluster`` (`aws eks
describe-cluster`) and ``kubernetes-gke-cluster`` (`gcloud container clusters describe --format=json`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nhiscan.sources.documents import Parsed

RBAC_KINDS = frozenset(
    {"ServiceAccount", "Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding", "Secret"}
)
LIST_KINDS = frozenset({"List"} | {f"{k}List" for k in RBAC_KINDS})


def _is_object(x: Any) -> bool:
    return isinstance(x, dict) and isinstance(x.get("metadata"), dict) and isinstance(x.get("kind"), str)


def _holds_rbac(items: list[Any], depth: int = 0) -> bool:
    """Does a generic List hold an RBAC object (directly or in a List nested in it)?

    Not every item need be readable: a broken item is reported by normalize as that one item,
    it must not make the whole file unrecognisable.
    """
    for item in items:
        if _is_object(item) and item["kind"] in RBAC_KINDS:
            return True
        nested = item.get("items") if isinstance(item, dict) and item.get("kind") in LIST_KINDS else None
        if isinstance(nested, list) and depth < 8 and _holds_rbac(nested, depth + 1):
            return True
    return False


def detect(parsed: Parsed) -> str | None:
    from nhiscan.sources.kubernetes.audit import is_apiserver, is_eks, is_gke

    data = parsed.data if parsed.is_structured else None
    if is_eks(data):
        return "kubernetes-eks-cluster"
    if is_gke(data):
        return "kubernetes-gke-cluster"
    if not isinstance(data, dict) or "apiVersion" not in data:
        return None
    items = data.get("items") if data.get("kind") in ("List", "PodList") else None
    if is_apiserver(data) or (isinstance(items, list) and any(is_apiserver(x) for x in items)):
        return "kubernetes-objects"
    kind = data.get("kind")
    if kind in LIST_KINDS and isinstance(data.get("items"), list):
        items = data["items"]
        # A typed list (ServiceAccountList, ...) is ours whatever its items hold (the API omits
        # their kind); a generic List when it is empty or holds an RBAC object.
        if kind != "List" or not items or _holds_rbac(items):
            return "kubernetes-objects"
        return None
    if kind in RBAC_KINDS and _is_object(data):
        return "kubernetes-objects"
    return None
