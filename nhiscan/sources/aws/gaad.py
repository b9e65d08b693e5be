"""``aws iam get-account-authorization-details`` (GAAD) exports: users, roles, groups, policies."""

from __future__ import annotations

from collections.abc import Mapping

from nhiscan.model import SourceRef
from nhiscan.sources import RawDocument
from nhiscan.sources.aws.state import State


def load_gaad(st: State, doc: RawDocument) -> None:
    data = doc.data
    lists = {
        k: data.get(k) or [] for k in ("UserDetailList", "GroupDetailList", "RoleDetailList", "Policies")
    }
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
                label = rec.get(name_key) if isinstance(rec, Mapping) else None
                st.error(
                    doc.path,
                    f"{key}[{i}] ({label or 'unnamed'}): record without Arn or {name_key}; skipped",
                )
                continue
            target[str(rec[name_key])] = (doc.path, rec)
    for i, pol in enumerate(lists["Policies"]):
        if not isinstance(pol, Mapping) or not pol.get("Arn"):
            st.error(doc.path, f"Policies[{i}]: policy without Arn; skipped")
            continue
        acct.policies[str(pol["Arn"])] = (doc.path, pol)
