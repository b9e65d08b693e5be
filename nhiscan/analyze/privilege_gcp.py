"""What a GCP service account can do, from the roles bound to it.

Levels: ``admin`` for the primitive Owner/Editor roles and roles that rewrite IAM policy wholesale;
``escalation`` for roles that mint credentials for, impersonate or act as other service accounts,
or that edit project IAM; ``write``/``read`` from the role naming conventions. Roles bound on a
single resource (one bucket, one service account) count only there: a token creator on one service
account escalates to that account, which is reported as escalation with the target named.
"""

from __future__ import annotations

from typing import Any

from nhiscan.analyze.privilege import Privilege
from nhiscan.model import Identity

ADMIN_ROLES = frozenset(
    {
        "roles/owner",
        "roles/editor",
        "roles/iam.securityAdmin",
        "roles/resourcemanager.organizationAdmin",
        "roles/resourcemanager.folderAdmin",
        "roles/resourcemanager.folderIamAdmin",
    }
)
PRIMITIVE_ROLES = frozenset({"roles/owner", "roles/editor"})

# Each of these lets the holder obtain another identity's power: mint keys or tokens, act as a
# service account when deploying compute, or grant itself more roles.
ESCALATION_ROLES = frozenset(
    {
        "roles/iam.serviceAccountKeyAdmin",
        "roles/iam.serviceAccountTokenCreator",
        "roles/iam.serviceAccountUser",
        "roles/iam.serviceAccountAdmin",
        "roles/iam.workloadIdentityUser",
        "roles/iam.roleAdmin",
        "roles/iam.organizationRoleAdmin",
        "roles/resourcemanager.projectIamAdmin",
        "roles/cloudfunctions.admin",
        "roles/cloudfunctions.developer",
        "roles/run.admin",
        "roles/run.developer",
        "roles/compute.admin",
        "roles/compute.instanceAdmin",
        "roles/compute.instanceAdmin.v1",
        "roles/container.admin",
        "roles/cloudbuild.builds.editor",
        "roles/deploymentmanager.editor",
        "roles/composer.admin",
        "roles/dataflow.admin",
        "roles/dataproc.editor",
        "roles/secretmanager.admin",
        "roles/cloudscheduler.admin",
    }
)

_HIERARCHY = ("projects/", "folders/", "organizations/")


def is_hierarchy_scope(scope: str) -> bool:
    """Bound on a project, folder or organization (inherited by everything below), not one resource."""
    return scope.startswith(_HIERARCHY) and scope.count("/") == 1


def _level_of(role: str) -> str:
    if role in ADMIN_ROLES:
        return "admin"
    if role in ESCALATION_ROLES:
        return "escalation"
    leaf = role.rsplit("/", 1)[-1].lower()
    if leaf.endswith(("viewer", "reader", "browser")) or "viewer" in leaf:
        return "read"
    if role.startswith(("projects/", "organizations/")):
        return "unknown"  # custom role: its permissions are not in these exports
    return "write"


_ORDER = ("admin", "escalation", "write", "read", "unknown", "none")


def assess(identity: Identity, memo: dict[str, Any]) -> Privilege:
    best = "none"
    reasons: list[str] = []
    for grant in identity.grants:
        if not grant.role:
            continue
        level = _level_of(grant.role)
        on_hierarchy = is_hierarchy_scope(grant.scope)
        if level == "admin" and not on_hierarchy:
            level = "escalation" if grant.role in PRIMITIVE_ROLES else "write"
        conditional = " (conditional)" if grant.condition else ""
        if level in ("admin", "escalation"):
            reasons.append(f"{grant.role} on {grant.scope}{conditional}")
        if _ORDER.index(level) < _ORDER.index(best):
            best = level
    return Privilege(best, tuple(reasons))
