"""Blast radius for correlation and agent rules: the provider's privilege summary, with a fallback.

``privilege_of`` asks the provider module (``privilege_<provider>``). Where none is available, or it
answers ``unknown``, ``blast_radius`` reads the identity's grants with a deliberately coarse,
provider-neutral view: wildcard actions or well-known owner/admin roles are ``admin``;
actions/roles that mint credentials or change permissions are ``escalation``. It never lowers a
provider's own verdict.
"""

from __future__ import annotations

import fnmatch
from typing import TYPE_CHECKING

from nhiscan.analyze.privilege import Privilege, privilege_of
from nhiscan.model import Identity

if TYPE_CHECKING:
    from nhiscan.analyze.checks import CheckContext

ADMIN_ROLES = {
    "roles/owner",
    "roles/editor",
    "owner",
    "contributor",
    "user access administrator",
    "global administrator",
    "privileged role administrator",
    "cluster-admin",
    "administratoraccess",
    "arn:aws:iam::aws:policy/administratoraccess",
}
# Permissions that create credentials, tokens or role assignments: a holder can become anyone.
MINTING_ACTIONS = (
    "iam:createaccesskey",
    "iam:createloginprofile",
    "iam:updateloginprofile",
    "iam:attach*policy",
    "iam:put*policy",
    "iam:createpolicyversion",
    "iam:passrole",
    "sts:assumerole",
    "iam.serviceaccountkeys.create",
    "iam.serviceaccounts.getaccesstoken",
    "iam.serviceaccounts.signjwt",
    "iam.serviceaccounts.signblob",
    "iam.serviceaccounts.implicitdelegation",
    "iam.serviceaccounts.actas",
    "resourcemanager.projects.setiampolicy",
    "microsoft.authorization/roleassignments/write",
    "microsoft.directory/applications/credentials/update",
    "microsoft.directory/serviceprincipals/credentials/update",
    "serviceaccounts/token:create",
)
MINTING_ROLES = {
    "roles/iam.serviceaccountkeyadmin",
    "roles/iam.serviceaccounttokencreator",
    "roles/iam.serviceaccountadmin",
    "roles/resourcemanager.projectiamadmin",
    "roles/iam.securityadmin",
    "iamfullaccess",
    "arn:aws:iam::aws:policy/iamfullaccess",
    "application administrator",
    "cloud application administrator",
}


def _action_matches(action: str, patterns: tuple[str, ...]) -> str | None:
    a = action.lower()
    for p in patterns:
        # A grant's wildcard covers a minting action (iam:* covers iam:createaccesskey), and a
        # pattern in our list may itself hold a wildcard (iam:attach*policy).
        if fnmatch.fnmatchcase(p, a) or fnmatch.fnmatchcase(a, p):
            return p
    return None


def grants_privilege(identity: Identity) -> Privilege:
    admin: list[str] = []
    minting: list[str] = []
    for g in identity.grants:
        if g.effect.lower() != "allow" or g.boundary:
            continue
        role = (g.role or "").strip().lower()
        role_tail = role.rsplit("/", 1)[-1] if role.startswith("arn:") else role
        if role in ADMIN_ROLES or role_tail in ADMIN_ROLES:
            admin.append(f"role {g.role}")
        elif role in MINTING_ROLES or role_tail in MINTING_ROLES:
            minting.append(f"role {g.role}")
        for action in g.actions:
            if action.strip() in ("*", "*:*"):
                admin.append(f"action {action} on {', '.join(g.resources) or '*'}")
            else:
                hit = _action_matches(action, MINTING_ACTIONS)
                if hit:
                    minting.append(f"action {action}")
    if admin:
        return Privilege("admin", tuple(dict.fromkeys(admin)))
    if minting:
        return Privilege("escalation", tuple(dict.fromkeys(minting)))
    if any(g.effect.lower() == "allow" and not g.boundary for g in identity.grants):
        return Privilege("unknown", ("grants present, provider analysis unavailable",))
    return Privilege("none" if not identity.grants else "unknown")


def blast_radius(ctx: CheckContext, identity: Identity) -> Privilege:
    cache: dict[str, Privilege] = ctx.cached("blast_radius", dict)
    if identity.id in cache:
        return cache[identity.id]
    own = privilege_of(ctx, identity)
    result = own
    if own.level == "unknown":
        result = grants_privilege(identity)
    cache[identity.id] = result
    return result
