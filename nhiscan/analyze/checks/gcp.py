"""GCP service-account checks: key age and expiry, primitive roles, escalation paths, default SAs."""

from __future__ import annotations

from collections.abc import Iterator

from nhiscan.analyze.checks import CheckContext, Hit, check
from nhiscan.analyze.privilege import privilege_of
from nhiscan.analyze.privilege_gcp import ESCALATION_ROLES, PRIMITIVE_ROLES, is_hierarchy_scope
from nhiscan.model import Credential, Identity, Severity


def _user_managed_keys(ident: Identity) -> Iterator[Credential]:
    for cred in ident.credentials:
        if cred.kind == "gcp-sa-key" and cred.active and cred.attributes.get("key_type") == "USER_MANAGED":
            yield cred


@check("gcp_sa_key_too_old")
def gcp_sa_key_too_old(ctx: CheckContext) -> Iterator[Hit]:
    max_age = float(ctx.params.get("max_age_days", 90))
    for ident in ctx.identities("gcp"):
        for cred in _user_managed_keys(ident):
            age = ctx.days_since(cred.created)
            if age is None or age <= max_age:
                continue
            yield Hit(
                identity=ident,
                credential=cred,
                message=f"user-managed key {cred.id[:12]}… of {ident.id} is {int(age)} days old "
                f"(limit {int(max_age)})",
                evidence={"age_days": int(age), "max_age_days": int(max_age)},
            )


@check("gcp_user_managed_key_no_expiry")
def gcp_user_managed_key_no_expiry(ctx: CheckContext) -> Iterator[Hit]:
    for ident in ctx.identities("gcp"):
        for cred in _user_managed_keys(ident):
            if cred.expires is not None:
                continue
            yield Hit(
                identity=ident,
                credential=cred,
                message=f"user-managed key {cred.id[:12]}… of {ident.id} never expires "
                "(validBeforeTime 9999-12-31)",
            )


def _hierarchy_grants(ident: Identity, roles: frozenset[str]) -> list[tuple[str, str]]:
    return sorted(
        {(g.role, g.scope) for g in ident.grants if g.role in roles and is_hierarchy_scope(g.scope)}
    )


@check("gcp_sa_primitive_role")
def gcp_sa_primitive_role(ctx: CheckContext) -> Iterator[Hit]:
    for ident in ctx.identities("gcp"):
        if ident.attributes.get("managed_by_provider"):
            continue  # Google service agents hold Editor by Google's design
        if ident.attributes.get("default_service_account"):
            continue  # reported by gcp-default-compute-sa-editor
        for role, scope in _hierarchy_grants(ident, PRIMITIVE_ROLES):
            yield Hit(
                identity=ident,
                message=f"{ident.id} holds the primitive role {role} on {scope}",
                evidence={"role": role, "scope": scope},
                severity=Severity.CRITICAL if role == "roles/owner" else None,
                severity_reason="Owner can change IAM policy" if role == "roles/owner" else "",
                key=f"{role}|{scope}",
            )


@check("gcp_sa_privilege_escalation")
def gcp_sa_privilege_escalation(ctx: CheckContext) -> Iterator[Hit]:
    for ident in ctx.identities("gcp"):
        if ident.attributes.get("managed_by_provider"):
            continue
        roles = sorted({(g.role or "", g.scope) for g in ident.grants if g.role in ESCALATION_ROLES})
        if not roles:
            continue
        broad = [r for r in roles if is_hierarchy_scope(r[1])]
        listed = ", ".join(f"{r} on {s}" for r, s in roles[:4])
        yield Hit(
            identity=ident,
            message=f"{ident.id} can mint credentials for or act as other identities: {listed}"
            + (" …" if len(roles) > 4 else ""),
            evidence={
                "grants": [{"role": r, "scope": s} for r, s in roles],
                "privilege": privilege_of(ctx, ident).level,
            },
            # On one service account the blast radius is that account; on a project it is all of them.
            severity=None if broad else Severity.MEDIUM,
        )


@check("gcp_default_compute_sa_editor")
def gcp_default_compute_sa_editor(ctx: CheckContext) -> Iterator[Hit]:
    for ident in ctx.identities("gcp"):
        if not ident.attributes.get("default_service_account"):
            continue
        for role, scope in _hierarchy_grants(ident, PRIMITIVE_ROLES):
            yield Hit(
                identity=ident,
                message=f"default service account {ident.id} still holds {role} on {scope}; every VM "
                "or App Engine app created with defaults runs with it",
                evidence={"role": role, "scope": scope},
                key=f"{role}|{scope}",
            )
