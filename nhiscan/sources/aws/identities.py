"""Build the identities of every account from what the loaders read: users, roles, the root user."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping
from typing import Any

from nhiscan.model import Grant, Identity
from nhiscan.sources.aws.classify import classify_user, is_sso_role
from nhiscan.sources.aws.credentials import user_credentials
from nhiscan.sources.aws.policy import bundled_managed_policies, grants_from, policy_document, trusts_from
from nhiscan.sources.aws.state import TAGS_UNKNOWN, Account, State
from nhiscan.sources.aws.values import PROVIDER, owner_from_tags, tags_of
from nhiscan.sources.timeparse import parse_time


def managed_policy_grants(
    st: State, acct: Account, arn: str, inherited_from: str | None, boundary: bool
) -> tuple[tuple[Grant, ...], bool]:
    """Statements of a managed policy (shared tuples, so equal policies evaluate once)."""
    key = (acct.id, arn, inherited_from, boundary)
    if key in st._policy_grants:
        return st._policy_grants[key], True
    doc: Mapping[str, Any] | None = None
    if arn in acct.policies:
        path, pol = acct.policies[arn]
        versions = pol.get("PolicyVersionList") or []
        default = next((v for v in versions if v.get("IsDefaultVersion")), None)
        if default is None and versions:
            default = versions[0]
        if default is not None:
            try:
                doc = policy_document(default.get("Document"))
            except (ValueError, json.JSONDecodeError) as exc:
                st.error(path, f"policy {arn}: unreadable document ({exc})")
    if doc is None:
        known = bundled_managed_policies().get(arn)
        if known is not None:
            doc = known["Document"]
    if doc is None:
        return (), False
    via = ("boundary:" if boundary else "managed:") + arn
    grants = grants_from(doc, scope=acct.id, via=via, inherited_from=inherited_from, boundary=boundary)
    st._policy_grants[key] = grants
    return grants, True


def policy_grants(
    st: State, acct: Account, path: str, rec: Mapping[str, Any], list_key: str, inherited_from: str | None
) -> tuple[list[Grant], list[str], list[str]]:
    grants: list[Grant] = []
    unresolved: list[str] = []
    names: list[str] = []
    prefix = f"group:{inherited_from}/" if inherited_from else ""
    for pol in rec.get(list_key) or []:
        name = str(pol.get("PolicyName", "inline"))
        try:
            doc = policy_document(pol.get("PolicyDocument"))
        except (ValueError, json.JSONDecodeError) as exc:
            st.error(path, f"{rec.get('Arn')}: inline policy {name}: unreadable ({exc})")
            continue
        via = sys.intern(f"{prefix}inline:{name}")  # one string for every identity's policy of that name
        names.append(via)
        grants.extend(grants_from(doc, scope=acct.id, via=via, inherited_from=inherited_from))
    for att in rec.get("AttachedManagedPolicies") or []:
        arn = str(att.get("PolicyArn", ""))
        got, ok = managed_policy_grants(st, acct, arn, inherited_from, False)
        names.append(sys.intern(f"{prefix}managed:{att.get('PolicyName') or arn.rsplit('/', 1)[-1]}"))
        if ok:
            grants.extend(got)
        else:
            unresolved.append(arn)
    return grants, unresolved, names


def boundary_grants(st: State, acct: Account, rec: Mapping[str, Any]) -> tuple[list[Grant], str | None, bool]:
    pb = rec.get("PermissionsBoundary") or {}
    arn = pb.get("PermissionsBoundaryArn") if isinstance(pb, Mapping) else None
    if not arn:
        return [], None, True
    got, ok = managed_policy_grants(st, acct, str(arn), None, True)
    return list(got), str(arn), ok


def build(st: State) -> None:
    for acct in st.accounts.values():
        alias = acct.aliases[0] if acct.aliases else None
        if acct.truncated_pages and not acct.has_last_page:
            st.error(
                acct.truncated_pages[-1],
                "GAAD export is truncated (IsTruncated: true) and no last page was given; "
                "pass every page (or export without --max-items)",
            )
        for name, (path, rec) in acct.users.items():
            _safe(st, path, rec, user, acct, name, path, rec, alias)
        for _name, (path, rec) in acct.roles.items():
            _safe(st, path, rec, role, acct, path, rec, alias)
        # users the credential report knows but the GAAD export does not (or no GAAD at all)
        for user_name, row in acct.report.items():
            if user_name in acct.users or user_name == "<root_account>":
                continue
            rec = {"UserName": user_name, "Arn": row.get("arn"), "CreateDate": row.get("user_creation_time")}
            path = acct.report_path or ""
            _safe(st, path, rec, user, acct, user_name, path, rec, alias)
        if "<root_account>" in acct.report:
            _safe(st, acct.report_path or "", {}, root, acct, alias)


def _safe(st: State, path: str, rec: Mapping[str, Any], fn: Callable[..., None], *args: Any) -> None:
    try:
        fn(st, *args)
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        label = rec.get("Arn") or rec.get("UserName") or rec.get("RoleName") or "record"
        # a ValueError carries a sentence meant for the user; anything else is unexpected
        why = str(exc) if type(exc) is ValueError else f"{type(exc).__name__}: {exc}"
        st.error(path, f"{label}: cannot normalize ({why}); skipped")


def _common_attrs(st: State, rec: Mapping[str, Any], alias: str | None) -> dict[str, Any]:
    attrs: dict[str, Any] = {"path": str(rec.get("Path") or "/")}
    if alias:
        attrs["account_alias"] = alias
    if rec.get(TAGS_UNKNOWN):
        attrs["tags_unknown"] = True  # from list-users / list-roles only: no tags were exported
    return attrs


def user(st: State, acct: Account, name: str, path: str, rec: Mapping[str, Any], alias: str | None) -> None:
    arn = str(rec["Arn"])
    tags = tags_of(rec)
    grants, unresolved, policies = policy_grants(st, acct, path, rec, "UserPolicyList", None)
    for group_name in rec.get("GroupList") or []:
        group = acct.groups.get(str(group_name))
        if group is None:
            unresolved.append(f"group:{group_name}")
            continue
        g_grants, g_unresolved, g_names = policy_grants(
            st, acct, group[0], group[1], "GroupPolicyList", str(group_name)
        )
        grants.extend(g_grants)
        unresolved.extend(g_unresolved)
        policies.extend(g_names)
    b_grants, b_arn, b_ok = boundary_grants(st, acct, rec)
    grants.extend(b_grants)
    row = acct.report.get(name, {})
    creds, facts = user_credentials(st, acct, name, arn, row)
    attrs = _common_attrs(st, rec, alias)
    attrs.update(facts)
    attrs["groups"] = [str(g) for g in rec.get("GroupList") or []]
    attrs["policies"] = policies
    _put_last_accessed(attrs, acct, arn)
    if b_arn:
        attrs["permissions_boundary"] = b_arn
        if not b_ok:
            attrs["permissions_boundary_unresolved"] = True
    if unresolved:
        attrs["unresolved_policies"] = unresolved
    active_keys = sum(1 for c in creds if c.kind == "aws-access-key" and c.active)
    override = st.settings.classify_override(arn, name)
    if override:
        nonhuman, reason = override == "nonhuman", f"[classification] {override} in settings"
    else:
        nonhuman, reason = classify_user(
            name=name,
            path=str(rec.get("Path") or "/"),
            tags=tags,
            has_password=bool(facts.get("password_enabled")),
            mfa_active=bool(facts.get("mfa_active")),
            active_keys=active_keys,
        )
    used = [c.last_used for c in creds if c.last_used] + [parse_time(rec.get("PasswordLastUsed"))]
    st.result.identities.append(
        Identity(
            id=arn,
            provider=PROVIDER,
            kind="aws-iam-user",
            name=name,
            scope=acct.id,
            owner=owner_from_tags(tags),
            nonhuman=nonhuman,
            classification=reason,
            created=parse_time(rec.get("CreateDate")),
            last_used=max((u for u in used if u), default=None),
            tags=tags,
            credentials=tuple(creds),
            grants=tuple(grants),
            attributes=attrs,
        )
    )


def role(st: State, acct: Account, path: str, rec: Mapping[str, Any], alias: str | None) -> None:
    arn = str(rec["Arn"])
    name = str(rec["RoleName"])
    tags = tags_of(rec)
    grants, unresolved, policies = policy_grants(st, acct, path, rec, "RolePolicyList", None)
    b_grants, b_arn, b_ok = boundary_grants(st, acct, rec)
    grants.extend(b_grants)
    trust_doc = rec.get("AssumeRolePolicyDocument")
    trusts = trusts_from(policy_document(trust_doc)) if trust_doc else ()
    attrs = _common_attrs(st, rec, alias)
    role_path = attrs["path"]
    attrs["policies"] = policies
    _put_last_accessed(attrs, acct, arn)
    if role_path.startswith("/aws-service-role/"):
        attrs["managed_by_provider"] = True
        attrs["service_linked"] = True
    profiles = [str(p.get("InstanceProfileName")) for p in rec.get("InstanceProfileList") or []]
    if profiles:
        attrs["instance_profiles"] = profiles
    if b_arn:
        attrs["permissions_boundary"] = b_arn
        if not b_ok:
            attrs["permissions_boundary_unresolved"] = True
    if unresolved:
        attrs["unresolved_policies"] = unresolved
    last = rec.get("RoleLastUsed") or {}
    if "RoleLastUsed" in rec:
        # GAAD reports RoleLastUsed (empty when the role was not used in IAM's tracking window),
        # so "no date" means "not used", not "unknown".
        attrs["last_used_tracked"] = True
    if last.get("Region"):
        attrs["last_used_region"] = str(last["Region"])
    if rec.get("MaxSessionDuration"):
        attrs["max_session_duration"] = int(rec["MaxSessionDuration"])
    override = st.settings.classify_override(arn, name)
    if override:
        nonhuman, reason = override == "nonhuman", f"[classification] {override} in settings"
    elif is_sso_role(role_path, name):
        nonhuman, reason = False, "IAM Identity Center permission-set role (people sign in through it)"
        attrs["managed_by_provider"] = True
    elif attrs.get("service_linked"):
        nonhuman, reason = True, "service-linked role (AWS-managed)"
    else:
        nonhuman, reason = True, "roles are non-human"
    st.result.identities.append(
        Identity(
            id=arn,
            provider=PROVIDER,
            kind="aws-iam-role",
            name=name,
            scope=acct.id,
            owner=owner_from_tags(tags),
            nonhuman=nonhuman,
            classification=reason,
            created=parse_time(rec.get("CreateDate")),
            last_used=parse_time(last.get("LastUsedDate")),
            tags=tags,
            grants=tuple(grants),
            trusts=trusts,
            attributes=attrs,
        )
    )


def root(st: State, acct: Account, alias: str | None) -> None:
    row = acct.report["<root_account>"]
    arn = str(row.get("arn") or f"arn:aws:iam::{acct.id}:root")
    creds, facts = user_credentials(st, acct, "<root_account>", arn, row)
    attrs: dict[str, Any] = dict(facts)
    if alias:
        attrs["account_alias"] = alias
    used = [c.last_used for c in creds if c.last_used]
    st.result.identities.append(
        Identity(
            id=arn,
            provider=PROVIDER,
            kind="aws-root-account",
            name="<root_account>",
            scope=acct.id,
            nonhuman=False,
            classification="account root user: its own kind, controlled by a person",
            created=parse_time(row.get("user_creation_time")),
            last_used=max(used, default=None),
            credentials=tuple(creds),
            attributes=attrs,
        )
    )


def _put_last_accessed(attrs: dict[str, Any], acct: Account, arn: str) -> None:
    seen = acct.last_accessed.get(arn)
    if seen is not None:
        attrs["services_last_accessed"] = {
            ns: when.isoformat() if when else None for ns, when in sorted(seen.items())
        }
