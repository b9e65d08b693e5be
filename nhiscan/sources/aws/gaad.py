"""``aws iam get-account-authorization-details`` (GAAD) exports: users, roles, groups, policies."""

from __future__ import annotations

from collections.abc import Mapping

from nhiscan.model import SourceRef
from nhiscan.sources.aws.state import TAGS_UNKNOWN, State
from nhiscan.sources.documents import RawDocument
from nhiscan.sources.shape import TIME, check, label

# The fields normalization reads, by list (missing or null is fine; see nhiscan.sources.shape).
_TAGS = (list, dict)
_SHAPES = {
    "UserDetailList": {
        "UserName": str,
        "Arn": str,
        "Path": str,
        "CreateDate": TIME,
        "PasswordLastUsed": TIME,
        "GroupList": [str],
        "UserPolicyList": [dict],
        "AttachedManagedPolicies": [dict],
        "PermissionsBoundary": dict,
        "Tags": _TAGS,
    },
    "RoleDetailList": {
        "RoleName": str,
        "Arn": str,
        "Path": str,
        "CreateDate": TIME,
        "RoleLastUsed": {"LastUsedDate": TIME, "Region": str},
        "RolePolicyList": [dict],
        "AttachedManagedPolicies": [dict],
        "InstanceProfileList": [dict],
        "PermissionsBoundary": dict,
        "Tags": _TAGS,
    },
    "GroupDetailList": {
        "GroupName": str,
        "Arn": str,
        "CreateDate": TIME,
        "GroupPolicyList": [dict],
        "AttachedManagedPolicies": [dict],
    },
    "Policies": {
        "Arn": str,
        "CreateDate": TIME,
        "UpdateDate": TIME,
        "PolicyVersionList": [{"CreateDate": TIME}],
    },
}


# list-users / list-roles (and get-user / get-role) hold a subset of the GAAD records' fields.
_LISTINGS = {
    "aws-list-users": ("Users", "User", "UserDetailList"),
    "aws-list-roles": ("Roles", "Role", "RoleDetailList"),
}


def load_gaad(st: State, doc: RawDocument) -> None:
    data = doc.data
    lists = {
        k: data.get(k) or [] for k in ("UserDetailList", "GroupDetailList", "RoleDetailList", "Policies")
    }
    if doc.kind in _LISTINGS:
        many, one, key = _LISTINGS[doc.kind]
        lists[key] = data.get(many) or ([data[one]] if data.get(one) is not None else [])
    arns = (
        str(r.get("Arn", ""))
        for k in ("UserDetailList", "GroupDetailList", "RoleDetailList", "Policies")
        for r in lists[k]
        if isinstance(r, Mapping)
    )
    scope = st.scope_for(doc, (a for a in arns if ":aws:policy/" not in a))
    if scope is None:
        if any(lists.values()):
            st.error(doc.path, "cannot tell the AWS account (no ARN); pass it as --input ACCOUNT=FILE")
        return
    acct = st.account(scope)
    acct.paths.append(doc.path)
    if data.get("IsTruncated") is True:
        acct.truncated_pages.append(doc.path)
    else:
        acct.has_last_page = True
    st.result.sources.append(SourceRef(doc.kind, scope, doc.path))
    for key, target, name_key in (
        ("UserDetailList", acct.users, "UserName"),
        ("RoleDetailList", acct.roles, "RoleName"),
        ("GroupDetailList", acct.groups, "GroupName"),
    ):
        for i, rec in enumerate(lists[key]):
            if not isinstance(rec, Mapping) or not rec.get("Arn") or not rec.get(name_key):
                unnamed = rec.get(name_key) if isinstance(rec, Mapping) else None
                where = _LISTINGS[doc.kind][0] if doc.kind in _LISTINGS else key
                st.error(
                    doc.path,
                    f"{where}[{i}] ({unnamed or 'unnamed'}): record without Arn or {name_key}; skipped",
                )
                continue
            if not _readable(st, doc, key, i, rec, name_key, listed=doc.kind in _LISTINGS):
                continue
            name = str(rec[name_key])
            if doc.kind in _LISTINGS and "Tags" not in rec:
                rec = {**rec, TAGS_UNKNOWN: True}  # list calls return no tags: owner unknown, not absent
            before = target.get(name)
            if before is None:
                target[name] = (doc.path, rec)
            elif doc.kind == "aws-gaad":  # the GAAD record is the fuller one: its fields win
                merged = {**before[1], **rec}
                merged.pop(TAGS_UNKNOWN, None)
                target[name] = (doc.path, merged)
            else:
                merged = {**rec, **before[1]}
                if TAGS_UNKNOWN not in before[1]:
                    merged.pop(TAGS_UNKNOWN, None)  # the earlier GAAD record had the tags
                target[name] = (before[0], merged)
    for i, pol in enumerate(lists["Policies"]):
        if not isinstance(pol, Mapping) or not pol.get("Arn"):
            st.error(doc.path, f"Policies[{i}]: policy without Arn; skipped")
            continue
        if _readable(st, doc, "Policies", i, pol, "PolicyName", "Arn"):
            acct.policies[str(pol["Arn"])] = (doc.path, pol)


def _readable(
    st: State,
    doc: RawDocument,
    key: str,
    i: int,
    rec: Mapping[str, object],
    *names: str,
    listed: bool = False,
) -> bool:
    """Does the record have the shape normalization reads? If not: one error naming it and the field."""
    try:
        check(rec, _SHAPES[key])
    except ValueError as exc:
        where = _LISTINGS[doc.kind][0] if listed else key
        st.error(doc.path, f"{where}[{i}]{label(rec, *names)}: {exc}; skipped")
        return False
    return True
