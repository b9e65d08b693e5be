"""AWS: turn IAM exports (and the live collector's documents of the same kinds) into identities.

``normalize`` groups every document by account, so a GAAD export, a credential report,
``list-access-keys`` output and nhiscan's extras document of one account merge into one view:

- identities: IAM users (``aws-iam-user``), roles (``aws-iam-role``) and the root user
  (``aws-root-account``, from the credential report's ``<root_account>`` row); id = ARN;
- credentials: access keys (matched between list-access-keys / extras and the credential report's
  two slots by creation time), console passwords, signing certificates, SSH keys and
  service-specific credentials;
- grants: every statement of inline, attached managed (from the export, else the bundled
  well-known AWS managed policies) and group-inherited policies, plus permissions-boundary
  statements (``boundary=True``);
- trusts: every statement of a role's trust policy;
- service last accessed (``aws-service-last-accessed``): on a user or role, the attribute
  ``services_last_accessed`` maps each service namespace its policies allow to the ISO time it last
  authenticated, or null when it never did within IAM's tracking period.

A half-broken record becomes one SourceError naming the file and the record; the rest is kept.
"""

from __future__ import annotations

import contextlib
import csv
import functools
import gc
import io
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import resources
from typing import Any
from urllib.parse import unquote

from nhiscan.config import Settings
from nhiscan.model import Credential, Grant, Identity, SourceError, SourceRef, Trust
from nhiscan.sources import ProviderResult, RawDocument
from nhiscan.sources.aws.classify import classify_user, is_sso_role
from nhiscan.sources.aws.exports import LAST_ACCESSED_KIND, credential_report_text

PROVIDER = "aws"
OWNER_TAG_KEYS = frozenset(
    {
        "owner",
        "team",
        "contact",
        "maintainer",
        "owneremail",
        "technicalowner",
        "businessowner",
        "ownerteam",
        "teamname",
        "responsible",
        "custodian",
    }
)
_ACCOUNT_RE = re.compile(r"^arn:aws[\w-]*:iam::(\d{12}):")
_USER_OR_ROLE_RE = re.compile(r"^arn:aws[\w-]*:iam::\d{12}:(user|role)/\S+$")
_MISSING = frozenset({"", "n/a", "no_information", "not_supported", "none", "null"})


# --- small parsers ------------------------------------------------------------------------------


def parse_time(value: Any) -> datetime | None:
    """AWS timestamps in every form the CLIs write: ``2019-12-18 19:10:08+00:00``, ISO ``...T...Z``."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if isinstance(value, (int, float)):
        try:
            return datetime.fromtimestamp(float(value), tz=timezone.utc)
        except (OverflowError, OSError, ValueError):
            return None  # out of any datetime's range (or NaN)
    text = str(value).strip()
    if text.lower() in _MISSING:
        return None
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def parse_bool(value: Any) -> bool:
    return str(value).strip().lower() == "true"


def policy_document(value: Any) -> dict[str, Any]:
    """A policy document given decoded, as JSON text, or URL-encoded JSON text."""
    if isinstance(value, dict):
        return value
    if isinstance(value, str):
        text = value.strip()
        if not text.startswith("{"):
            text = unquote(text)
        doc = json.loads(text)
        if isinstance(doc, dict):
            return doc
    raise ValueError("policy document is neither an object nor JSON text")


def _as_tuple(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, (list, tuple)):
        return tuple(str(v) for v in value)
    return (str(value),)


def statements(doc: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    stmts = doc.get("Statement", [])
    if isinstance(stmts, Mapping):
        stmts = [stmts]
    return [s for s in stmts if isinstance(s, Mapping)]


def grants_from(
    doc: Mapping[str, Any],
    *,
    scope: str,
    via: str,
    inherited_from: str | None = None,
    boundary: bool = False,
) -> tuple[Grant, ...]:
    out = []
    for st in statements(doc):
        not_resources = _as_tuple(st.get("NotResource"))
        resources_ = _as_tuple(st.get("Resource")) if "Resource" in st else (() if not_resources else ("*",))
        cond = st.get("Condition")
        out.append(
            Grant(
                effect=str(st.get("Effect", "Allow")),
                actions=_as_tuple(st.get("Action")),
                not_actions=_as_tuple(st.get("NotAction")),
                resources=resources_,
                not_resources=not_resources,
                scope=scope,
                via=via,
                inherited_from=inherited_from,
                boundary=boundary,
                condition=dict(cond) if isinstance(cond, Mapping) and cond else None,
            )
        )
    return tuple(out)


def trusts_from(doc: Mapping[str, Any]) -> tuple[Trust, ...]:
    out: list[Trust] = []
    for st in statements(doc):
        actions = _as_tuple(st.get("Action"))
        cond = st.get("Condition") or {}
        if not isinstance(cond, Mapping):
            # an unreadable condition is neither "no condition" nor a safe one: say so
            raise ValueError(f"trust policy Condition is not an object (got {type(cond).__name__})")
        conditions = dict(cond)
        effect = str(st.get("Effect", "Allow"))
        principal = st.get("Principal", st.get("NotPrincipal"))
        if "NotPrincipal" in st and "Principal" not in st:
            out.append(Trust("*", "*", actions, effect, {**conditions, "nhiscan:NotPrincipal": principal}))
            continue
        if principal == "*" or principal is None:
            out.append(Trust("*", "*", actions, effect, conditions))
            continue
        if isinstance(principal, Mapping):
            for ptype, values in principal.items():
                for value in _as_tuple(values):
                    out.append(Trust(str(ptype), value, actions, effect, conditions))
    return tuple(out)


def account_of(arn: str) -> str | None:
    m = _ACCOUNT_RE.match(arn or "")
    return m.group(1) if m else None


def owner_from_tags(tags: Mapping[str, str]) -> str | None:
    for key, value in tags.items():
        if re.sub(r"[^a-z]", "", key.lower()) in OWNER_TAG_KEYS and str(value).strip():
            return str(value).strip()
    return None


def tags_of(record: Mapping[str, Any]) -> dict[str, str]:
    tags = record.get("Tags") or []
    if isinstance(tags, Mapping):
        return {str(k): str(v) for k, v in tags.items()}
    return {
        str(t.get("Key")): str(t.get("Value", "")) for t in tags if isinstance(t, Mapping) and t.get("Key")
    }


@functools.lru_cache(maxsize=1)
def bundled_managed_policies() -> Mapping[str, Mapping[str, Any]]:
    """Well-known AWS managed policies shipped with nhiscan, by ARN."""
    text = (
        resources.files("nhiscan.sources.aws").joinpath("data/aws_managed_policies.json").read_text("utf-8")
    )
    data: Mapping[str, Mapping[str, Any]] = json.loads(text)["policies"]
    return data


# --- one account's merged view ------------------------------------------------------------------


@dataclass
class _Key:
    id: str | None
    created: datetime | None
    active: bool
    last_used: datetime | None = None
    service: str | None = None
    region: str | None = None
    slot: int | None = None


@dataclass
class _Account:
    id: str
    paths: list[str] = field(default_factory=list)
    users: dict[str, tuple[str, Mapping[str, Any]]] = field(default_factory=dict)
    roles: dict[str, tuple[str, Mapping[str, Any]]] = field(default_factory=dict)
    groups: dict[str, tuple[str, Mapping[str, Any]]] = field(default_factory=dict)
    policies: dict[str, tuple[str, Mapping[str, Any]]] = field(default_factory=dict)
    report: dict[str, Mapping[str, str]] = field(default_factory=dict)
    report_path: str | None = None
    keys: dict[str, dict[str, Mapping[str, Any]]] = field(default_factory=dict)
    extras: dict[str, Any] = field(default_factory=dict)
    aliases: list[str] = field(default_factory=list)
    truncated_pages: list[str] = field(default_factory=list)
    has_last_page: bool = False
    # identity ARN -> service namespace -> last authenticated (None: not within the tracking period)
    last_accessed: dict[str, dict[str, datetime | None]] = field(default_factory=dict)


class _Normalizer:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.accounts: dict[str, _Account] = {}
        self.result = ProviderResult()
        self.unscoped: list[RawDocument] = []
        self._policy_grants: dict[tuple[str, str, str | None, bool], tuple[Grant, ...]] = {}

    def error(self, path: str, message: str) -> None:
        self.result.errors.append(SourceError(path, message))

    def account(self, account_id: str) -> _Account:
        acct = self.accounts.get(account_id)
        if acct is None:
            acct = self.accounts[account_id] = _Account(account_id)
        return acct

    # -- loading ---------------------------------------------------------------------------------

    def load(self, doc: RawDocument) -> None:
        try:
            if doc.kind == "aws-gaad":
                self._load_gaad(doc)
            elif doc.kind == "aws-credential-report":
                self._load_report(doc)
            elif doc.kind == "aws-service-last-accessed":
                self._load_last_accessed(doc)
            elif doc.kind in ("aws-access-keys", "aws-iam-extras"):
                scope = doc.scope or (doc.data.get("AccountId") if isinstance(doc.data, dict) else None)
                if scope:
                    self._load_keyed(doc, str(scope))
                else:
                    self.unscoped.append(doc)
                    return
            else:
                self.error(doc.path, f"unknown AWS document kind {doc.kind!r}")
                return
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            self.error(doc.path, f"cannot read {doc.kind} export: {exc}")

    def _scope_for(self, doc: RawDocument, arns: Iterable[str]) -> str | None:
        """The account the export's ARNs name; a SCOPE= only fills in when they name none.

        A SCOPE that contradicts the ARNs is a mistake on the command line (the wrong file, or the
        wrong account id): it is reported, and the account the export itself names is used.
        """
        named = next((a for a in map(account_of, arns) if a), None)
        if named and doc.scope and doc.scope != named:
            self.error(
                doc.path, f"SCOPE {doc.scope} given, but the export names account {named}; using {named}"
            )
        return named or doc.scope

    def _load_gaad(self, doc: RawDocument) -> None:
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
        scope = self._scope_for(doc, (a for a in arns if ":aws:policy/" not in a))
        if scope is None:
            if any(lists.values()):
                self.error(doc.path, "cannot tell the AWS account (no ARN); pass it as --input ACCOUNT=FILE")
            return
        acct = self.account(scope)
        acct.paths.append(doc.path)
        if data.get("IsTruncated") is True:
            acct.truncated_pages.append(doc.path)
        else:
            acct.has_last_page = True
        self.result.sources.append(SourceRef(doc.kind, scope, doc.path))
        for key, target, name_key in (
            ("UserDetailList", acct.users, "UserName"),
            ("RoleDetailList", acct.roles, "RoleName"),
            ("GroupDetailList", acct.groups, "GroupName"),
        ):
            for i, rec in enumerate(lists[key]):
                if not isinstance(rec, Mapping) or not rec.get("Arn") or not rec.get(name_key):
                    label = rec.get(name_key) if isinstance(rec, Mapping) else None
                    self.error(
                        doc.path,
                        f"{key}[{i}] ({label or 'unnamed'}): record without Arn or {name_key}; skipped",
                    )
                    continue
                target[str(rec[name_key])] = (doc.path, rec)
        for i, pol in enumerate(lists["Policies"]):
            if not isinstance(pol, Mapping) or not pol.get("Arn"):
                self.error(doc.path, f"Policies[{i}]: policy without Arn; skipped")
                continue
            acct.policies[str(pol["Arn"])] = (doc.path, pol)

    def _load_report(self, doc: RawDocument) -> None:
        text = credential_report_text(doc.data)
        if text is None:
            raise ValueError("credential report content cannot be decoded")
        rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
        scope = self._scope_for(doc, (r.get("arn") or "" for r in rows))
        if scope is None:
            if rows:
                self.error(doc.path, "cannot tell the AWS account (no ARN); pass it as --input ACCOUNT=FILE")
            return
        acct = self.account(scope)
        acct.report_path = doc.path
        self.result.sources.append(SourceRef(doc.kind, scope, doc.path))
        for i, row in enumerate(rows, start=2):
            if not any(str(v or "").strip() for v in row.values()):
                continue  # a blank line (trailing whitespace after the last row): nothing to read
            user = (row.get("user") or "").strip()
            if not user or not (row.get("arn") or "").strip():
                self.error(doc.path, f"line {i}: credential report row without user or arn; skipped")
                continue
            acct.report[user] = row

    def _load_last_accessed(self, doc: RawDocument) -> None:
        """get-service-last-accessed-details output (``ARN=FILE``) or nhiscan's combined form."""
        data = doc.data
        entries: list[tuple[str, Mapping[str, Any]]] = []
        if data.get("Kind") == LAST_ACCESSED_KIND:
            for i, item in enumerate(data.get("Identities") or []):
                arn = str(item.get("Arn") or "") if isinstance(item, Mapping) else ""
                if not _USER_OR_ROLE_RE.match(arn):
                    self.error(doc.path, f"Identities[{i}]: without the Arn of an IAM user or role; skipped")
                    continue
                entries.append((arn, item))
        elif not doc.scope:
            self.error(
                doc.path,
                "get-service-last-accessed-details output does not name its identity; pass it as "
                "--input arn:aws:iam::ACCOUNT:role/NAME=FILE (or user/NAME)",
            )
            return
        elif not _USER_OR_ROLE_RE.match(doc.scope):
            self.error(
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
            if status != "COMPLETED":
                err = entry.get("Error")
                detail = f" ({err.get('Message') or err.get('Code')})" if isinstance(err, Mapping) else ""
                self.error(
                    doc.path,
                    f"{arn}: service last accessed job is {status or 'without JobStatus'}{detail}, not "
                    "COMPLETED; fetch get-service-last-accessed-details again once it has completed",
                )
                continue
            services = entry.get("ServicesLastAccessed")
            if not isinstance(services, list):
                self.error(doc.path, f"{arn}: ServicesLastAccessed is not a list; skipped")
                continue
            account = account_of(arn)
            if account is None:  # pragma: no cover - the ARN pattern names an account
                continue
            seen = self.account(account).last_accessed.setdefault(arn, {})
            for j, svc in enumerate(services):
                ns = svc.get("ServiceNamespace") if isinstance(svc, Mapping) else None
                if not isinstance(ns, str) or not ns:
                    self.error(
                        doc.path, f"{arn}: ServicesLastAccessed[{j}] without ServiceNamespace; skipped"
                    )
                    continue
                when = parse_time(svc.get("LastAuthenticated"))
                before = seen.get(ns)
                seen[ns] = max(when, before) if when and before else (when or before)
            if account not in scopes:
                scopes.append(account)
        for account in scopes:
            self.result.sources.append(SourceRef(doc.kind, account, doc.path))

    def _load_keyed(self, doc: RawDocument, scope: str) -> None:
        acct = self.account(scope)
        self.result.sources.append(SourceRef(doc.kind, scope, doc.path))
        if doc.kind == "aws-access-keys":
            for i, item in enumerate(doc.data.get("AccessKeyMetadata") or []):
                if not isinstance(item, Mapping) or not item.get("UserName") or not item.get("AccessKeyId"):
                    self.error(doc.path, f"AccessKeyMetadata[{i}]: without UserName or AccessKeyId; skipped")
                    continue
                acct.keys.setdefault(str(item["UserName"]), {})[str(item["AccessKeyId"])] = item
        else:
            for k, v in doc.data.items():
                if k in ("Kind", "AccountId"):
                    continue
                if k == "AccountAliases":
                    acct.aliases.extend(str(a) for a in v or [])
                elif isinstance(v, Mapping):
                    acct.extras.setdefault(k, {}).update(v)
                elif isinstance(v, list):
                    acct.extras.setdefault(k, []).extend(v)

    def place_unscoped(self) -> None:
        """list-access-keys / extras without an account: attach to the account that has those users."""
        for doc in self.unscoped:
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
            candidates = [a for a in self.accounts.values() if users & (a.users.keys() | a.report.keys())]
            if not candidates and len(self.accounts) == 1:
                candidates = list(self.accounts.values())
            if len(candidates) != 1:
                self.error(
                    doc.path,
                    "cannot tell which AWS account this export belongs to; pass it as --input ACCOUNT=FILE",
                )
                continue
            self._load_keyed(doc, candidates[0].id)

    # -- building identities ---------------------------------------------------------------------

    def managed_policy_grants(
        self, acct: _Account, arn: str, inherited_from: str | None, boundary: bool
    ) -> tuple[tuple[Grant, ...], bool]:
        """Statements of a managed policy (shared tuples, so equal policies evaluate once)."""
        key = (acct.id, arn, inherited_from, boundary)
        if key in self._policy_grants:
            return self._policy_grants[key], True
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
                    self.error(path, f"policy {arn}: unreadable document ({exc})")
        if doc is None:
            known = bundled_managed_policies().get(arn)
            if known is not None:
                doc = known["Document"]
        if doc is None:
            return (), False
        via = ("boundary:" if boundary else "managed:") + arn
        grants = grants_from(doc, scope=acct.id, via=via, inherited_from=inherited_from, boundary=boundary)
        self._policy_grants[key] = grants
        return grants, True

    def policy_grants(
        self, acct: _Account, path: str, rec: Mapping[str, Any], list_key: str, inherited_from: str | None
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
                self.error(path, f"{rec.get('Arn')}: inline policy {name}: unreadable ({exc})")
                continue
            names.append(f"{prefix}inline:{name}")
            grants.extend(
                grants_from(doc, scope=acct.id, via=f"{prefix}inline:{name}", inherited_from=inherited_from)
            )
        for att in rec.get("AttachedManagedPolicies") or []:
            arn = str(att.get("PolicyArn", ""))
            got, ok = self.managed_policy_grants(acct, arn, inherited_from, False)
            names.append(f"{prefix}managed:{att.get('PolicyName') or arn.rsplit('/', 1)[-1]}")
            if ok:
                grants.extend(got)
            else:
                unresolved.append(arn)
        return grants, unresolved, names

    def boundary_grants(self, acct: _Account, rec: Mapping[str, Any]) -> tuple[list[Grant], str | None, bool]:
        pb = rec.get("PermissionsBoundary") or {}
        arn = pb.get("PermissionsBoundaryArn") if isinstance(pb, Mapping) else None
        if not arn:
            return [], None, True
        got, ok = self.managed_policy_grants(acct, str(arn), None, True)
        return list(got), str(arn), ok

    def build(self) -> None:
        for acct in self.accounts.values():
            alias = acct.aliases[0] if acct.aliases else None
            if acct.truncated_pages and not acct.has_last_page:
                self.error(
                    acct.truncated_pages[-1],
                    "GAAD export is truncated (IsTruncated: true) and no last page was given; "
                    "pass every page (or export without --max-items)",
                )
            for name, (path, rec) in acct.users.items():
                self._safe(path, rec, self.user, acct, name, path, rec, alias)
            for _name, (path, rec) in acct.roles.items():
                self._safe(path, rec, self.role, acct, path, rec, alias)
            # users the credential report knows but the GAAD export does not (or no GAAD at all)
            for user, row in acct.report.items():
                if user in acct.users or user == "<root_account>":
                    continue
                rec = {"UserName": user, "Arn": row.get("arn"), "CreateDate": row.get("user_creation_time")}
                path = acct.report_path or ""
                self._safe(path, rec, self.user, acct, user, path, rec, alias)
            if "<root_account>" in acct.report:
                self._safe(acct.report_path or "", {}, self.root, acct, alias)

    def _safe(self, path: str, rec: Mapping[str, Any], fn: Callable[..., None], *args: Any) -> None:
        try:
            fn(*args)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            label = rec.get("Arn") or rec.get("UserName") or rec.get("RoleName") or "record"
            # a ValueError carries a sentence meant for the user; anything else is unexpected
            why = str(exc) if type(exc) is ValueError else f"{type(exc).__name__}: {exc}"
            self.error(path, f"{label}: cannot normalize ({why}); skipped")

    def _common_attrs(self, rec: Mapping[str, Any], alias: str | None) -> dict[str, Any]:
        attrs: dict[str, Any] = {"path": str(rec.get("Path") or "/")}
        if alias:
            attrs["account_alias"] = alias
        return attrs

    def user(self, acct: _Account, name: str, path: str, rec: Mapping[str, Any], alias: str | None) -> None:
        arn = str(rec["Arn"])
        tags = tags_of(rec)
        grants, unresolved, policies = self.policy_grants(acct, path, rec, "UserPolicyList", None)
        for group_name in rec.get("GroupList") or []:
            group = acct.groups.get(str(group_name))
            if group is None:
                unresolved.append(f"group:{group_name}")
                continue
            g_grants, g_unresolved, g_names = self.policy_grants(
                acct, group[0], group[1], "GroupPolicyList", str(group_name)
            )
            grants.extend(g_grants)
            unresolved.extend(g_unresolved)
            policies.extend(g_names)
        b_grants, b_arn, b_ok = self.boundary_grants(acct, rec)
        grants.extend(b_grants)
        row = acct.report.get(name, {})
        creds, facts = self.user_credentials(acct, name, arn, row)
        attrs = self._common_attrs(rec, alias)
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
        override = self.settings.classify_override(arn, name)
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
        self.result.identities.append(
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

    def user_credentials(
        self, acct: _Account, name: str, arn: str, row: Mapping[str, str]
    ) -> tuple[list[Credential], dict[str, Any]]:
        creds: list[Credential] = []
        facts: dict[str, Any] = {}
        extras = acct.extras
        login = (extras.get("LoginProfiles") or {}).get(name)
        mfa_devices = (extras.get("MFADevices") or {}).get(name) or []
        mfa_active = parse_bool(row.get("mfa_active")) or bool(mfa_devices)
        pw_field = str(row.get("password_enabled", "")).strip().lower()
        password = (
            pw_field == "true"
            or login is not None
            or (name == "<root_account>" and pw_field == "not_supported")
        )
        facts["mfa_active"] = mfa_active
        facts["password_enabled"] = password
        if password:
            created = parse_time(row.get("password_last_changed")) or parse_time(
                (login or {}).get("CreateDate")
            )
            attrs: dict[str, Any] = {"mfa_active": mfa_active}
            nxt = parse_time(row.get("password_next_rotation"))
            if login and "PasswordResetRequired" in login:
                attrs["password_reset_required"] = bool(login["PasswordResetRequired"])
            creds.append(
                Credential(
                    id=f"{arn}/console-password",
                    kind="aws-console-password",
                    created=created,
                    last_used=parse_time(row.get("password_last_used")),
                    expires=nxt,
                    active=True,
                    attributes=attrs,
                )
            )
        creds.extend(self.access_keys(acct, name, arn, row))
        creds.extend(self.certificates(acct, name, arn, row))
        for item in (extras.get("SSHPublicKeys") or {}).get(name) or []:
            creds.append(
                Credential(
                    id=str(item.get("SSHPublicKeyId")),
                    kind="aws-ssh-key",
                    created=parse_time(item.get("UploadDate")),
                    active=str(item.get("Status", "Active")) == "Active",
                )
            )
        for item in (extras.get("ServiceSpecificCredentials") or {}).get(name) or []:
            creds.append(
                Credential(
                    id=str(item.get("ServiceSpecificCredentialId")),
                    kind="aws-service-specific-credential",
                    created=parse_time(item.get("CreateDate")),
                    active=str(item.get("Status", "Active")) == "Active",
                    attributes={"service": str(item.get("ServiceName", ""))},
                )
            )
        return creds, facts

    def access_keys(self, acct: _Account, name: str, arn: str, row: Mapping[str, str]) -> list[Credential]:
        last_used_extra = acct.extras.get("AccessKeyLastUsed") or {}
        listed = [
            _Key(
                id=str(k),
                created=parse_time(item.get("CreateDate")),
                active=str(item.get("Status", "Active")) == "Active",
                last_used=parse_time(item.get("LastUsedDate")),
                service=_clean(item.get("ServiceName")),
                region=_clean(item.get("Region")),
            )
            for k, item in (acct.keys.get(name) or {}).items()
        ]
        slots = []
        for n in (1, 2):
            created = parse_time(row.get(f"access_key_{n}_last_rotated"))
            active = parse_bool(row.get(f"access_key_{n}_active"))
            if created is None and not active:
                continue
            slots.append(
                _Key(
                    id=None,
                    created=created,
                    active=active,
                    last_used=parse_time(row.get(f"access_key_{n}_last_used_date")),
                    service=_clean(row.get(f"access_key_{n}_last_used_service")),
                    region=_clean(row.get(f"access_key_{n}_last_used_region")),
                    slot=n,
                )
            )
        merged: list[_Key] = []
        remaining = list(listed)
        for slot in slots:
            match = _closest(slot, remaining)
            if match is not None:
                remaining.remove(match)
                merged.append(
                    _Key(
                        id=match.id,
                        created=match.created or slot.created,
                        active=match.active,
                        last_used=match.last_used or slot.last_used,
                        service=match.service or slot.service,
                        region=match.region or slot.region,
                        slot=slot.slot,
                    )
                )
            else:
                merged.append(slot)
        merged.extend(remaining)
        out = []
        for key in merged:
            extra = last_used_extra.get(key.id) if key.id else None
            if extra:
                key.last_used = key.last_used or parse_time(extra.get("LastUsedDate"))
                key.service = key.service or _clean(extra.get("ServiceName"))
                key.region = key.region or _clean(extra.get("Region"))
            attrs: dict[str, Any] = {}
            if key.service:
                attrs["last_used_service"] = key.service
            if key.region:
                attrs["last_used_region"] = key.region
            if key.slot:
                attrs["report_slot"] = key.slot
            out.append(
                Credential(
                    id=key.id or f"{arn}/access-key-{key.slot}",
                    kind="aws-access-key",
                    created=key.created,
                    last_used=key.last_used,
                    active=key.active,
                    attributes=attrs,
                )
            )
        return out

    def certificates(self, acct: _Account, name: str, arn: str, row: Mapping[str, str]) -> list[Credential]:
        listed = (acct.extras.get("SigningCertificates") or {}).get(name) or []
        if listed:
            return [
                Credential(
                    id=str(c.get("CertificateId")),
                    kind="aws-signing-certificate",
                    created=parse_time(c.get("UploadDate")),
                    active=str(c.get("Status", "Active")) == "Active",
                )
                for c in listed
            ]
        out = []
        for n in (1, 2):
            created = parse_time(row.get(f"cert_{n}_last_rotated"))
            active = parse_bool(row.get(f"cert_{n}_active"))
            if created is None and not active:
                continue
            out.append(
                Credential(
                    id=f"{arn}/signing-certificate-{n}",
                    kind="aws-signing-certificate",
                    created=created,
                    active=active,
                )
            )
        return out

    def role(self, acct: _Account, path: str, rec: Mapping[str, Any], alias: str | None) -> None:
        arn = str(rec["Arn"])
        name = str(rec["RoleName"])
        tags = tags_of(rec)
        grants, unresolved, policies = self.policy_grants(acct, path, rec, "RolePolicyList", None)
        b_grants, b_arn, b_ok = self.boundary_grants(acct, rec)
        grants.extend(b_grants)
        trust_doc = rec.get("AssumeRolePolicyDocument")
        trusts = trusts_from(policy_document(trust_doc)) if trust_doc else ()
        attrs = self._common_attrs(rec, alias)
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
        override = self.settings.classify_override(arn, name)
        if override:
            nonhuman, reason = override == "nonhuman", f"[classification] {override} in settings"
        elif is_sso_role(role_path, name):
            nonhuman, reason = False, "IAM Identity Center permission-set role (people sign in through it)"
            attrs["managed_by_provider"] = True
        elif attrs.get("service_linked"):
            nonhuman, reason = True, "service-linked role (AWS-managed)"
        else:
            nonhuman, reason = True, "roles are non-human"
        self.result.identities.append(
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

    def root(self, acct: _Account, alias: str | None) -> None:
        row = acct.report["<root_account>"]
        arn = str(row.get("arn") or f"arn:aws:iam::{acct.id}:root")
        creds, facts = self.user_credentials(acct, "<root_account>", arn, row)
        attrs: dict[str, Any] = dict(facts)
        if alias:
            attrs["account_alias"] = alias
        used = [c.last_used for c in creds if c.last_used]
        self.result.identities.append(
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


def _put_last_accessed(attrs: dict[str, Any], acct: _Account, arn: str) -> None:
    seen = acct.last_accessed.get(arn)
    if seen is not None:
        attrs["services_last_accessed"] = {
            ns: when.isoformat() if when else None for ns, when in sorted(seen.items())
        }


def _clean(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return None if text.lower() in _MISSING else text


def _closest(slot: _Key, candidates: Sequence[_Key]) -> _Key | None:
    """The listed key whose creation time matches the report slot's last-rotated time (to 2 minutes)."""
    if not candidates:
        return None
    if slot.created is None:
        return None
    best = min(
        candidates,
        key=lambda k: abs((k.created - slot.created).total_seconds()) if k.created and slot.created else 1e18,
    )
    if best.created and abs((best.created - slot.created).total_seconds()) <= 120:
        return best
    return None


@contextlib.contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building the (acyclic) model.

    Normalizing a large account allocates millions of small containers; each allocation burst
    triggers collections that walk every live object, which made normalization superlinear in
    the account's size. Nothing built here forms reference cycles (refcounting frees it all), so
    pausing is safe; the previous state is restored on the way out.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def normalize(docs: Sequence[RawDocument], settings: Settings) -> ProviderResult:
    with _cyclic_gc_paused():
        norm = _Normalizer(settings)
        for doc in docs:
            norm.load(doc)
        norm.place_unscoped()
        norm.build()
        return norm.result
