"""IAM service last accessed data (``get-service-last-accessed-details`` or nhiscan's combined form)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nhiscan.model import SourceRef
from nhiscan.sources.aws.exports import LAST_ACCESSED_KIND
from nhiscan.sources.aws.state import State
from nhiscan.sources.aws.values import USER_OR_ROLE_RE, account_of
from nhiscan.sources.documents import RawDocument
from nhiscan.sources.timeparse import UnreadableTime, read_time


def load_last_accessed(st: State, doc: RawDocument) -> None:
    """get-service-last-accessed-details output (``ARN=FILE``) or nhiscan's combined form."""
    data = doc.data
    entries: list[tuple[str, Mapping[str, Any]]] = []
    if data.get("Kind") == LAST_ACCESSED_KIND:
        for i, item in enumerate(data.get("Identities") or []):
            arn = str(item.get("Arn") or "") if isinstance(item, Mapping) else ""
            if not USER_OR_ROLE_RE.match(arn):
                st.error(doc.path, f"Identities[{i}]: without the Arn of an IAM user or role; skipped")
                continue
            entries.append((arn, item))
    elif not doc.scope:
        st.error(
            doc.path,
            "get-service-last-accessed-details output does not name its identity; pass it as "
            "--input arn:aws:iam::ACCOUNT:role/NAME=FILE (or user/NAME)",
        )
        return
    elif not USER_OR_ROLE_RE.match(doc.scope):
        st.error(
            doc.path,
            f"SCOPE {doc.scope} is not an IAM user or role ARN; service last accessed data needs "
            "--input arn:aws:iam::ACCOUNT:role/NAME=FILE (or user/NAME)",
        )
        return
    else:
        entries.append((doc.scope, data))
    scopes: list[str] = []
    for arn, entry in entries:
        status = str(entry.get("JobStatus") or "")
        if status.strip().upper() != "COMPLETED":
            err = entry.get("Error")
            detail = f" ({err.get('Message') or err.get('Code')})" if isinstance(err, Mapping) else ""
            st.error(
                doc.path,
                f"{arn}: service last accessed job is {status or 'without JobStatus'}{detail}, not "
                "COMPLETED; fetch get-service-last-accessed-details again once it has completed",
            )
            continue
        services = entry.get("ServicesLastAccessed")
        if not isinstance(services, list):
            st.error(doc.path, f"{arn}: ServicesLastAccessed is not a list; skipped")
            continue
        account = account_of(arn)
        if account is None:  # pragma: no cover - the ARN pattern names an account
            continue
        seen = st.account(account).last_accessed.setdefault(arn, {})
        for j, svc in enumerate(services):
            ns = svc.get("ServiceNamespace") if isinstance(svc, Mapping) else None
            if not isinstance(ns, str) or not ns:
                st.error(doc.path, f"{arn}: ServicesLastAccessed[{j}] without ServiceNamespace; skipped")
                continue
            try:
                when = read_time(svc.get("LastAuthenticated"))
            except UnreadableTime as exc:
                where = f"{arn}: ServicesLastAccessed[{j}] ({ns[:120]})"
                st.error(doc.path, f"{where}: LastAuthenticated: {exc}; skipped")
                continue
            before = seen.get(ns)
            seen[ns] = max(when, before) if when and before else (when or before)
        if account not in scopes:
            scopes.append(account)
    for account in scopes:
        st.result.sources.append(SourceRef(doc.kind, account, doc.path))
