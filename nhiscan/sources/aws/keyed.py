"""Per-user exports keyed by user name: ``aws iam list-access-keys`` and nhiscan's extras document."""

from __future__ import annotations

from collections.abc import Mapping

from nhiscan.model import SourceRef
from nhiscan.sources.aws.state import State
from nhiscan.sources.aws.values import STATUS
from nhiscan.sources.documents import RawDocument
from nhiscan.sources.shape import TIME, Spec, check, label

_ACCESS_KEY: Spec = {
    "UserName": str,
    "AccessKeyId": str,
    "Status": STATUS,
    "CreateDate": TIME,
    "LastUsedDate": TIME,
    "ServiceName": str,
    "Region": str,
}
# nhiscan's extras document: per user (or per access key id), the facts only live APIs give.
_EXTRAS: dict[str, Spec] = {
    "LoginProfiles": {"CreateDate": TIME, "PasswordResetRequired": bool},
    "AccessKeyLastUsed": {"LastUsedDate": TIME, "ServiceName": str, "Region": str},
    "MFADevices": [dict],
    "SSHPublicKeys": [{"SSHPublicKeyId": str, "UploadDate": TIME, "Status": STATUS}],
    "SigningCertificates": [{"CertificateId": str, "UploadDate": TIME, "Status": STATUS}],
    "ServiceSpecificCredentials": [
        {"ServiceSpecificCredentialId": str, "ServiceName": str, "CreateDate": TIME, "Status": STATUS}
    ],
}


def load_keyed(st: State, doc: RawDocument, scope: str) -> None:
    acct = st.account(scope)
    st.result.sources.append(SourceRef(doc.kind, scope, doc.path))
    if doc.kind == "aws-access-keys":
        for i, item in enumerate(doc.data.get("AccessKeyMetadata") or []):
            if not isinstance(item, Mapping) or not item.get("UserName") or not item.get("AccessKeyId"):
                st.error(doc.path, f"AccessKeyMetadata[{i}]: without UserName or AccessKeyId; skipped")
                continue
            try:
                check(item, _ACCESS_KEY)
            except ValueError as exc:
                where = f"AccessKeyMetadata[{i}]{label(item, 'UserName')}"
                st.error(doc.path, f"{where}: {exc}; key skipped")
                continue
            acct.keys.setdefault(str(item["UserName"]), {})[str(item["AccessKeyId"])] = item
    else:
        for k, v in doc.data.items():
            if k in ("Kind", "AccountId"):
                continue
            if k == "AccountAliases":
                acct.aliases.extend(str(a) for a in v or [])
            elif isinstance(v, Mapping):
                acct.extras.setdefault(k, {}).update(_readable_extras(st, doc, k, v))
            elif isinstance(v, list):
                acct.extras.setdefault(k, []).extend(v)


def _readable_extras(
    st: State, doc: RawDocument, category: str, by_name: Mapping[str, object]
) -> dict[str, object]:
    """The entries of one extras category whose shape normalization reads; one error per other."""
    spec = _EXTRAS.get(category)
    if spec is None:
        return dict(by_name)
    out: dict[str, object] = {}
    for name, value in by_name.items():
        try:
            check(value, spec, f"{category}.{name}")
        except ValueError as exc:
            st.error(doc.path, f"{exc}; skipped")
            continue
        out[name] = value
    return out


def place_unscoped(st: State) -> None:
    """list-access-keys / extras without an account: attach to the account that has those users."""
    for doc in st.unscoped:
        users: set[str] = set()
        if doc.kind == "aws-access-keys":
            users = {
                str(i.get("UserName"))
                for i in doc.data.get("AccessKeyMetadata") or []
                if isinstance(i, Mapping)
            }
        else:
            for v in doc.data.values():
                if isinstance(v, Mapping):
                    users |= {str(u) for u in v}
        candidates = [a for a in st.accounts.values() if users & (a.users.keys() | a.report.keys())]
        if not candidates and len(st.accounts) == 1:
            candidates = list(st.accounts.values())
        if len(candidates) != 1:
            st.error(
                doc.path,
                "cannot tell which AWS account this export belongs to; pass it as --input ACCOUNT=FILE",
            )
            continue
        load_keyed(st, doc, candidates[0].id)
