"""GCP service-account checks: key age and expiry, primitive roles, escalation paths, default SAs."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from nhiscan.analyze.checks import CheckContext, Hit, check
from nhiscan.analyze.privilege import privilege_of
from nhiscan.analyze.privilege_gcp import ESCALATION_ROLES, PRIMITIVE_ROLES, is_hierarchy_scope
from nhiscan.model import Credential, Identity, Severity
from nhiscan.sources.gcp import sa_project


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


# --- organization policies (NHI7) ---------------------------------------------------------------

_CREATE = "iam.disableServiceAccountKeyCreation"
_UPLOAD = "iam.disableServiceAccountKeyUpload"
_EXPIRY = "iam.serviceAccountKeyExpiryHours"


@check("gcp_sa_key_creation_allowed")
def gcp_sa_key_creation_allowed(ctx: CheckContext) -> Iterator[Hit]:
    """Per project covered by an organization-policy export: key creation not enforced off."""
    projects: dict[str, list[Identity]] = {}
    policies: dict[str, Mapping[str, Any]] = {}
    for ident in ctx.identities("gcp"):
        found = ident.attributes.get("org_policies")
        if ident.scope and isinstance(found, Mapping):
            projects.setdefault(ident.scope, []).append(ident)
            policies[ident.scope] = found
    for project in sorted(projects):
        constraints = policies[project].get("constraints") or {}
        create = constraints.get(_CREATE) or {}
        if create.get("enforced") is True:
            continue
        keys = sorted(
            (ident.id, cred.id)
            for ident in projects[project]
            if not ident.attributes.get("managed_by_provider")
            for cred in _user_managed_keys(ident)
        )
        if "enforced" in create:
            state = f"{_CREATE} is set to not enforced on {create.get('set_on')}"
        else:
            state = (
                f"{_CREATE} is not set in the exported policies ("
                + ", ".join(policies[project].get("exported_for") or ())
                + ")"
            )
        upload = (constraints.get(_UPLOAD) or {}).get("enforced") is True
        expiry = constraints.get(_EXPIRY) or {}
        missing = [
            c for c, ok in ((_UPLOAD, upload), (_EXPIRY, bool(expiry.get("allowed_values")))) if not ok
        ]
        yield Hit(
            message=(
                f"project {project} allows service account key creation: {state}"
                + (f"; it holds {len(keys)} active user-managed key(s)" if keys else "")
                + (f"; also not enforced: {', '.join(missing)}" if missing else "")
            ),
            severity=None if keys else Severity.LOW,
            evidence={
                "project": project,
                "constraints": {k: dict(v) for k, v in constraints.items()},
                "user_managed_keys": [f"{i} {k}" for i, k in keys],
                "not_enforced": [_CREATE, *missing],
            },
            key=f"projects/{project}",
        )


# --- principals of other organizations (NHI3) ---------------------------------------------------

_BASIC_ROLES = frozenset({"roles/owner", "roles/editor"})


def _domain(member: str) -> str:
    kind, _, rest = member.partition(":")
    return (rest if kind == "domain" else rest.rpartition("@")[2]).lower()


def _org_domains(ctx: CheckContext, facts: list[tuple[str, list[tuple[str, str]]]]) -> set[str]:
    configured = {str(d).lower().lstrip("@") for d in ctx.params.get("org_domains", [])}
    if configured:
        return configured
    # Inferred: the domains of the projects' owners (people and groups holding roles/owner).
    return {
        _domain(m)
        for _, members in facts
        for m, role in members
        if role == "roles/owner" and m.startswith(("user:", "group:"))
    }


@check("gcp_external_principal")
def gcp_external_principal(ctx: CheckContext) -> Iterator[Hit]:
    facts: list[tuple[str, list[tuple[str, str]]]] = []
    for obs in ctx.inventory.observations:
        if obs.rule_id != ctx.rule.id:
            continue
        members = obs.attributes.get("members") or []
        pairs = [(str(m[0]), str(m[1])) for m in members if isinstance(m, (list, tuple)) and len(m) == 2]
        facts.append((str(obs.attributes.get("resource", "")), pairs))
    domains = _org_domains(ctx, facts)
    if domains:
        by_member: dict[str, dict[str, set[str]]] = {}
        for resource, members in facts:
            for member, role in members:
                domain = _domain(member)
                if domain in domains or any(domain.endswith("." + d) for d in domains):
                    continue
                by_member.setdefault(member, {}).setdefault(resource, set()).add(role)
        for member in sorted(by_member):
            where = by_member[member]
            roles = sorted({r for rs in where.values() for r in rs})
            broad = member.startswith("domain:") or bool(set(roles) & _BASIC_ROLES)
            held = [f"{', '.join(sorted(rs))} on {res}" for res, rs in sorted(where.items())]
            shown_domains = sorted(domains)
            yield Hit(
                message=(
                    f"{member} (domain {_domain(member)}, not one of {', '.join(shown_domains[:5])}"
                    + (" …" if len(shown_domains) > 5 else "")
                    + ") holds "
                    + "; ".join(held[:3])
                    + (f" and roles on {len(held) - 3} more resources" if len(held) > 3 else "")
                ),
                severity=Severity.HIGH if broad else None,
                evidence={
                    "member": member,
                    "domain": _domain(member),
                    "org_domains": sorted(domains),
                    "grants": {res: sorted(rs) for res, rs in sorted(where.items())},
                },
                key=member,
            )
    yield from _foreign_service_accounts(ctx)


def _foreign_service_accounts(ctx: CheckContext) -> Iterator[Hit]:
    own = {str(p) for p in ctx.params.get("own_projects", [])}
    scanned = {p for i in ctx.identities("gcp") for g in i.grants if (p := _project(g.scope))} | {
        i.scope for i in ctx.identities("gcp") if i.attributes.get("in_service_account_list")
    }
    for ident in ctx.identities("gcp"):
        if ident.attributes.get("managed_by_provider") or ident.attributes.get("default_service_account"):
            continue
        project = sa_project(ident.id)
        if project is None or project in scanned or project in own:
            continue
        grants = sorted({(g.role or "", g.scope) for g in ident.grants})
        if not grants:
            continue
        broad = any(r in _BASIC_ROLES for r, _ in grants)
        yield Hit(
            identity=ident,
            message=(
                f"service account {ident.id} of project {project}, outside the scanned projects, holds "
                + ", ".join(f"{r} on {s}" for r, s in grants[:4])
                + (" …" if len(grants) > 4 else "")
            ),
            severity=Severity.HIGH if broad else None,
            evidence={"project": project, "grants": [{"role": r, "scope": s} for r, s in grants]},
        )


def _project(scope: str) -> str | None:
    return scope.split("/", 2)[1] if scope.startswith("projects/") and scope.count("/") >= 1 else None
