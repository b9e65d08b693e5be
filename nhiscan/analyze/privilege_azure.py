"""What an Azure service principal or managed identity can do, from its RBAC role assignments.

Owner, Contributor and User Access Administrator at management-group, subscription (or root)
scope count as ``admin``; roles that grant roles or hand out identities (Role Based Access Control
Administrator, Managed Identity Operator, ...) and Owner/User Access Administrator on a resource
group count as ``escalation``. Other roles are ``write`` or ``read`` by name.
"""

from __future__ import annotations

import re
from typing import Any

from nhiscan.analyze.privilege import Privilege
from nhiscan.model import Identity

ADMIN_ROLES = frozenset({"Owner", "Contributor", "User Access Administrator"})
ROLE_ASSIGNING = frozenset({"Owner", "User Access Administrator", "Role Based Access Control Administrator"})
ESCALATION_ROLES = frozenset(
    {
        "Role Based Access Control Administrator",
        "Managed Identity Operator",
        "Managed Identity Contributor",
        "Key Vault Administrator",
        "Key Vault Secrets Officer",
        "Virtual Machine Contributor",
        "Automation Contributor",
        "Logic App Contributor",
        "Website Contributor",
        "Azure Kubernetes Service Cluster Admin Role",
        "Azure Kubernetes Service RBAC Cluster Admin",
    }
)

_SUB = re.compile(r"^/subscriptions/[^/]+/?$", re.IGNORECASE)
_MG = re.compile(r"^/providers/Microsoft\.Management/managementGroups/[^/]+/?$", re.IGNORECASE)
_RG = re.compile(r"^/subscriptions/[^/]+/resourceGroups/[^/]+/?$", re.IGNORECASE)


def scope_level(scope: str) -> str:
    """root | management-group | subscription | resource-group | resource."""
    if scope in ("/", ""):
        return "root"
    if _MG.match(scope):
        return "management-group"
    if _SUB.match(scope):
        return "subscription"
    if _RG.match(scope):
        return "resource-group"
    return "resource"


def is_broad(scope: str) -> bool:
    return scope_level(scope) in ("root", "management-group", "subscription")


def grant_level(role: str, scope: str) -> str:
    broad = is_broad(scope)
    if role in ADMIN_ROLES and broad:
        return "admin"
    if role in ESCALATION_ROLES or (role in ROLE_ASSIGNING and scope_level(scope) == "resource-group"):
        return "escalation"
    lowered = role.lower()
    if "reader" in lowered or lowered.endswith("viewer") or "user" in lowered.split()[-1:]:
        return "read"
    return "write"


_ORDER = ("admin", "escalation", "write", "read", "unknown", "none")


def assess(identity: Identity, memo: dict[str, Any]) -> Privilege:
    best = "none"
    reasons: list[str] = []
    for grant in identity.grants:
        if not grant.role:
            continue
        level = grant_level(grant.role, grant.scope)
        if level in ("admin", "escalation"):
            reasons.append(
                f"{grant.role} on {grant.scope or '/'}" + (" (conditional)" if grant.condition else "")
            )
        if _ORDER.index(level) < _ORDER.index(best):
            best = level
    return Privilege(best, tuple(reasons))
