"""What a Kubernetes service account can do, from the RBAC rules bound to it.

``admin``: cluster-admin, or ``*`` verbs on ``*`` resources, cluster-wide. ``escalation``: rules
that let the holder obtain more power than they were given: create pods (run as any service
account of the namespace and read its token), pods/exec or attach, read secrets (other accounts'
tokens), create service account tokens, bind/escalate roles, impersonate, or write RBAC objects.
``write``/``read`` otherwise. Namespaced escalation stays escalation: the namespace's most
powerful account is the ceiling.
"""

from __future__ import annotations

from typing import Any

from nhiscan.analyze.privilege import Privilege
from nhiscan.model import Grant, Identity

_WRITE = frozenset({"create", "update", "patch", "delete", "deletecollection", "*"})
_READ_SECRETS = frozenset({"get", "list", "watch", "*"})
_RBAC = ("rbac.authorization.k8s.io/",)


def _bare(resource: str) -> str:
    return resource.split("/", 1)[1] if resource.startswith(_RBAC) else resource


def _matches(resources: tuple[str, ...], wanted: str) -> bool:
    return any(
        r in ("*", "*/*", wanted) or (r.endswith("/*") and wanted.startswith(r[:-1])) for r in resources
    )


def grant_escalations(g: Grant) -> list[str]:
    verbs = set(g.actions)
    res = g.resources
    out = []
    if verbs & {"create", "*"} and _matches(res, "pods"):
        out.append("create pods")
    if verbs & {"create", "get", "*"} and (_matches(res, "pods/exec") or _matches(res, "pods/attach")):
        out.append("exec into pods")
    if verbs & _READ_SECRETS and _matches(res, "secrets"):
        out.append("read secrets")
    if verbs & {"create", "*"} and _matches(res, "serviceaccounts/token"):
        out.append("create service account tokens")
    if verbs & {"bind", "escalate", "*"} and any(
        _bare(r) in ("roles", "clusterroles", "*") or r == "*" for r in res
    ):
        out.append("bind/escalate roles")
    if verbs & {"impersonate", "*"} and any(
        _bare(r) in ("users", "groups", "serviceaccounts", "*") or r == "*" for r in res
    ):
        out.append("impersonate")
    if verbs & _WRITE and any(
        r.startswith(_RBAC) and _bare(r) in ("rolebindings", "clusterrolebindings", "roles", "clusterroles")
        for r in res
    ):
        out.append("write RBAC")
    if verbs & _WRITE and any(
        r in ("apps/deployments", "apps/daemonsets", "apps/statefulsets", "batch/jobs", "batch/cronjobs")
        for r in res
    ):
        out.append("create workloads")
    return out


def is_cluster_admin(g: Grant) -> bool:
    return g.scope == "cluster" and (
        (g.role == "ClusterRole/cluster-admin" and not g.condition)
        or ("*" in g.actions and bool({"*", "*/*"} & set(g.resources)) and not g.condition)
    )


def assess(identity: Identity, memo: dict[str, Any]) -> Privilege:
    reasons: list[str] = []
    level = "none"
    for g in identity.grants:
        where = "cluster-wide" if g.scope == "cluster" else f"in namespace {g.scope}"
        if is_cluster_admin(g):
            reasons.append(f"{g.role} {where} via {g.via}")
            level = "admin"
            continue
        esc = [] if g.condition else grant_escalations(g)
        if esc:
            reasons.append(f"{', '.join(esc)} {where} via {g.via}")
            if level != "admin":
                level = "escalation"
        elif level in ("none", "read", "unknown"):
            if set(g.actions) & _WRITE:
                level = "write"
            elif g.actions:
                level = "read" if level != "write" else level
            elif level == "none":
                level = "unknown"
    return Privilege(level, tuple(reasons))
