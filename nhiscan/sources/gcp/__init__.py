"""GCP: service accounts, their keys and the IAM bindings that name them, from gcloud exports.

Identity ids are service-account e-mail addresses (``ci-deployer@acme-prod.iam.gserviceaccount.com``):
globally unique, the form IAM policies name (``serviceAccount:EMAIL``) and the ``client_email`` of a
leaked key file, so findings, policies and leaks line up on one string. The scope is the project id
that owns the account (from ``projectId`` or the e-mail domain).

Service accounts that only appear as members of a policy (Google service agents, accounts of
other projects) become identities too: their grants are real. A grant in a project other than the
account's own is recorded in ``attributes.cross_project_grants``.

For the escalation graph two more facts are kept on each service account: ``federated_principals``,
the workload identity pool members (``principal://`` and ``principalSet://``) bound on the account
itself or on its project, with their role and resource; and ``ancestors``, the folders and
organization above its project, from the ``folders``/``organization`` fields of Cloud Asset
Inventory results (absent when no asset export names them), and ``project_number``, which those
results pair with the project id (policies may name a project either way). Role descriptions (``gcloud iam roles
describe``) give the grants of the roles they describe their permissions as ``actions``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from nhiscan.config import Settings
from nhiscan.model import (
    Credential,
    Grant,
    Identity,
    Location,
    LogConfig,
    Observation,
    SourceError,
    SourceRef,
)
from nhiscan.sources.documents import ProviderResult, RawDocument
from nhiscan.sources.gcp import org_policy, wif
from nhiscan.sources.shape import TIME, OneOf, check, label
from nhiscan.sources.timeparse import parse_time

PROVIDER = "gcp"
MEMBERS_RULE = "gcp-external-principal"
NO_EXPIRY_YEAR = 9999

_USER_SA = re.compile(r"^[^@]+@(?P<project>[a-z][a-z0-9-]{4,28}[a-z0-9])\.iam\.gserviceaccount\.com$")
_DEFAULT_COMPUTE = re.compile(r"^\d+-compute@developer\.gserviceaccount\.com$")
_APPSPOT = re.compile(r"^(?P<project>[a-z][a-z0-9-]+)@appspot\.gserviceaccount\.com$")
# Google-managed service agents: Google creates, owns and rotates them.
_AGENT_DOMAINS = (
    ".gserviceaccount.com",  # gcp-sa-*.iam, cloudservices, cloudbuild, container-engine-robot, ...
)
_AGENT_LOCAL = re.compile(r"^(?:service-|service-org-|service-folder-)?\d+$")
_OWNER_LABELS = ("owner", "team", "contact", "owner-email", "maintainer")
# What each record must look like (missing or null fields are fine; see nhiscan.sources.shape).
_SA_SHAPE = {
    "email": str,
    "projectId": str,
    "name": str,
    "displayName": str,
    "description": str,
    "uniqueId": (str, int),
    "disabled": bool,
    "labels": {"*": (str, int, float, bool)},
}
KEY_TYPE = OneOf("USER_MANAGED", "SYSTEM_MANAGED", "KEY_TYPE_UNSPECIFIED")
_KEY_SHAPE = {
    "name": str,
    "validAfterTime": TIME,
    "validBeforeTime": TIME,
    "keyType": KEY_TYPE,
    "keyOrigin": str,
    "keyAlgorithm": str,
    "disabled": bool,
}
_BINDING_SHAPE = {"role": str, "members": [str], "condition": dict}
_ROLE_SHAPE = {"name": str, "includedPermissions": [str], "title": str, "stage": str}
_AUDIT_SHAPE = [{"service": str, "auditLogConfigs": [{"logType": str, "exemptedMembers": [str]}]}]
_ASSET_SHAPE = {"resource": str, "policy": {"bindings": [_BINDING_SHAPE], "auditConfigs": _AUDIT_SHAPE}}
_OWNER_IN_TEXT = re.compile(r"\b(?:owner|team|contact)\s*[:=]\s*(?P<owner>[\w.@+-]+)", re.IGNORECASE)


def sa_project(email: str) -> str | None:
    if is_service_agent(email):
        return None
    m = _USER_SA.match(email) or _APPSPOT.match(email)
    return m.group("project") if m else None


def is_default_sa(email: str) -> bool:
    """The Compute Engine and App Engine default service accounts (Google-created, user-owned)."""
    return bool(_DEFAULT_COMPUTE.match(email) or _APPSPOT.match(email))


def is_service_agent(email: str) -> bool:
    """A Google-managed service agent (not a user-managed or default account)."""
    if is_default_sa(email) or not email.endswith(_AGENT_DOMAINS):
        return False
    local, _, domain = email.partition("@")
    if _AGENT_LOCAL.match(local) or domain.startswith("gcp-sa-"):
        return True
    return not _USER_SA.match(email)


def short_resource(name: str) -> str:
    """`//cloudresourcemanager.googleapis.com/projects/p` -> `projects/p` (folders, organizations too)."""
    prefix = "//cloudresourcemanager.googleapis.com/"
    return name[len(prefix) :] if name.startswith(prefix) else name


def project_of_resource(resource: str) -> str | None:
    m = re.match(r"^projects/([^/]+)$", resource)
    return m.group(1) if m else None


@dataclass
class _SA:
    email: str
    project: str
    name: str
    record: dict[str, Any] = field(default_factory=dict)
    keys: dict[str, Credential] = field(default_factory=dict)
    grants: dict[tuple[str, str, str], Grant] = field(default_factory=dict)
    sources: set[str] = field(default_factory=set)


class _Builder:
    def __init__(self) -> None:
        self.accounts: dict[str, _SA] = {}
        self.result = ProviderResult()
        # resource -> constraint -> facts (the key-related organization policy constraints)
        self.org_policies: dict[str, dict[str, dict[str, Any]]] = {}
        # resource -> (the export naming it, {(member, role)}) for members that are not service accounts
        self.principals: dict[str, tuple[str, set[tuple[str, str]]]] = {}
        # resource -> workload identity pool members bound there: (member, role, condition title)
        self.federated: dict[str, list[tuple[str, str, str]]] = {}
        # project id -> the folders and organization above it (Cloud Asset Inventory results)
        self.ancestors: dict[str, list[str]] = {}
        # project id -> project number, as asset results pair them (policies may name either)
        self.numbers: dict[str, str] = {}
        # role name -> its permissions (gcloud iam roles describe)
        self.roles: dict[str, tuple[str, ...]] = {}

    def account(self, email: str, project: str | None = None) -> _SA:
        sa = self.accounts.get(email)
        if sa is None:
            sa = _SA(email=email, project=project or sa_project(email) or "", name=email.split("@", 1)[0])
            self.accounts[email] = sa
        elif project and not sa.project:
            sa.project = project
        return sa

    # --- documents ------------------------------------------------------------------------------

    def _each(self, doc: RawDocument, key: str, shape: dict[str, Any], *names: str) -> Iterable[Any]:
        """The records of a list export that have the expected shape; one error per other record."""
        items = doc.data[key] if isinstance(doc.data, dict) else doc.data
        if not isinstance(items, list):
            raise ValueError(f"{key}: expected a list, got {type(items).__name__}")
        for i, item in enumerate(items):
            try:
                check(item, shape, nullable=False)
                if names and not item.get(names[0]):
                    raise ValueError(f"no {names[0]}")
            except ValueError as exc:
                where = f"[{i}]{label(item, *names)}"
                self.result.errors.append(SourceError(doc.path, f"{where}: {exc}; skipped"))
                continue
            yield item

    def service_accounts(self, doc: RawDocument) -> None:
        for item in self._each(doc, "accounts", _SA_SHAPE, "email", "name"):
            email = str(item["email"])
            sa = self.account(email, item.get("projectId") or _project_from_name(item.get("name")))
            sa.record = dict(item)
            sa.sources.add("service-accounts")

    def keys(self, doc: RawDocument) -> None:
        for item in self._each(doc, "keys", _KEY_SHAPE, "name"):
            name = str(item["name"])
            m = re.match(
                r"^projects/(?P<project>[^/]+)/serviceAccounts/(?P<sa>[^/]+)/keys/(?P<key>[^/]+)$", name
            )
            if not m:
                self.result.errors.append(SourceError(doc.path, f"unexpected key name {name!r}"))
                continue
            email = m.group("sa")
            project = m.group("project")
            sa = self.account(email, None if project == "-" else project)
            expires = parse_time(item.get("validBeforeTime"))
            if expires is not None and expires.year >= NO_EXPIRY_YEAR:
                expires = None
            key_type = KEY_TYPE.canonical(item.get("keyType"), "USER_MANAGED")
            cred = Credential(
                id=m.group("key"),
                kind="gcp-sa-key",
                created=parse_time(item.get("validAfterTime")),
                expires=expires,
                active=not bool(item.get("disabled", False)),
                attributes={
                    "key_type": key_type,
                    "origin": item.get("keyOrigin"),
                    "algorithm": item.get("keyAlgorithm"),
                    "service_account": email,
                    "user_managed": key_type == "USER_MANAGED",
                },
            )
            sa.keys[cred.id] = cred

    def policy(self, doc: RawDocument) -> None:
        if not doc.scope:
            raise ValueError(
                "an IAM policy export does not name its project; pass it as --input PROJECT_ID=FILE"
            )
        scope = doc.scope.strip("/")
        resource = scope if "/" in scope else f"projects/{scope}"
        bindings = doc.data.get("bindings") or []
        check(bindings, [dict], "bindings")
        for i, binding in enumerate(bindings):
            try:
                check(binding, _BINDING_SHAPE, f"bindings[{i}]")
            except ValueError as exc:
                self.result.errors.append(SourceError(doc.path, f"{exc}; binding skipped"))
                continue
            self.bindings(resource, [binding], "project-iam-policy", doc.path)
        # A whole policy: no auditConfigs means no Data Access logs are configured on this resource.
        self.audit_configs(doc, resource, doc.data.get("auditConfigs") or [])

    def role_list(self, doc: RawDocument) -> None:
        items = doc.data if isinstance(doc.data, list) else [doc.data]
        for item in self._each(replace(doc, data=items), "roles", _ROLE_SHAPE, "name"):
            if item.get("deleted") is True:
                continue
            self.roles[str(item["name"])] = tuple(str(p) for p in item.get("includedPermissions") or ())

    def wif_providers(self, doc: RawDocument) -> None:
        """Workload identity pool providers: one fact each (sources/gcp/wif.py)."""
        for i, item in enumerate(wif.records(doc.data)):
            try:
                check(item, wif.SHAPE, nullable=False)
                self.result.observations.append(wif.fact(item, doc.path))
            except (ValueError, KeyError, TypeError) as exc:
                where = f"[{i}]{label(item, 'name')}"
                self.result.errors.append(SourceError(doc.path, f"{where}: {exc}; skipped"))

    def org_policy_list(self, doc: RawDocument) -> None:
        for resource, constraints in org_policy.read(doc.data, doc.scope).items():
            self.org_policies.setdefault(resource, {}).update(constraints)

    def asset_policies(self, doc: RawDocument) -> None:
        for item in self._each(doc, "results", _ASSET_SHAPE, "resource"):
            resource = short_resource(str(item["resource"]))
            self.note_ancestors(resource, item)
            policy = item.get("policy") or {}
            self.bindings(resource, policy.get("bindings") or (), "asset-search", doc.path)
            if "auditConfigs" in policy:  # asset results may leave them out: absence says nothing
                self.audit_configs(doc, resource, policy.get("auditConfigs") or [])

    def note_ancestors(self, resource: str, item: Mapping[str, Any]) -> None:
        """The folders and organization an asset result lists above its project, and the project's
        number (results name projects by id or by number; ``project`` is always the number)."""
        m = _PROJECT_IN_RESOURCE.match(resource)
        if not m:
            return
        project = m.group(1)
        number = str(item.get("project") or "").removeprefix("projects/")
        if number.isdigit() and not project.isdigit():
            self.numbers.setdefault(project, number)
        above = [str(f) for f in item.get("folders") or () if isinstance(f, str)]
        if isinstance(item.get("organization"), str) and item["organization"]:
            above.append(str(item["organization"]))
        if above:
            self.ancestors.setdefault(project, above)

    def audit_configs(self, doc: RawDocument, resource: str, configs: Any) -> None:
        """A resource's audit configs (which Data Access logs are on, who is exempted)."""
        check(configs, _AUDIT_SHAPE, "auditConfigs")
        attributes = {"audit_configs": [dict(c) for c in configs]}
        self.result.logging.append(LogConfig(PROVIDER, "gcp-audit-configs", resource, attributes, doc.path))

    def bindings(
        self, resource: str, bindings: Iterable[Mapping[str, Any]], via: str, path: str = ""
    ) -> None:
        for binding in bindings:
            role = str(binding.get("role", ""))
            condition = binding.get("condition") or None
            for member in binding.get("members") or ():
                kind, _, rest = str(member).partition(":")
                if kind in ("user", "group", "domain") and rest:
                    # people and groups are not inventoried; who they belong to is (NHI3)
                    self.principals.setdefault(resource, (path, set()))[1].add((str(member), role))
                    continue
                if kind in ("principal", "principalSet") and rest:
                    cond = condition or {}
                    title = str(cond.get("title") or cond.get("expression") or "")
                    self.federated.setdefault(sa_resource_key(resource), []).append(
                        (str(member), role, title)
                    )
                    continue
                if kind != "serviceAccount" or not rest:
                    continue  # allUsers, allAuthenticatedUsers, ...: not service accounts
                sa = self.account(rest)
                grant = Grant(
                    role=role,
                    scope=resource,
                    resources=(resource,),
                    via=via,
                    condition=dict(condition) if condition else None,
                )
                cond_key = str(sorted(condition.items())) if condition else ""
                sa.grants.setdefault((role, resource, cond_key), grant)

    # --- identities -------------------------------------------------------------------------------

    def identities(self) -> list[Identity]:
        out = []
        for email in sorted(self.accounts):
            sa = self.accounts[email]
            rec = sa.record
            labels = {str(k): str(v) for k, v in (rec.get("labels") or {}).items()}
            description = str(rec.get("description") or "")
            owner = next((labels[k] for k in _OWNER_LABELS if labels.get(k)), None)
            if owner is None:
                m = _OWNER_IN_TEXT.search(description)
                owner = m.group("owner") if m else None
            cross = sorted(
                {
                    g.scope
                    for g in sa.grants.values()
                    if sa.project and (p := project_of_resource(g.scope)) and p != sa.project
                }
            )
            attributes: dict[str, Any] = {
                "email": email,
                "unique_id": rec.get("uniqueId"),
                "resource_name": rec.get("name") or f"projects/{sa.project or '-'}/serviceAccounts/{email}",
                "disabled": bool(rec.get("disabled", False)),
                "in_service_account_list": "service-accounts" in sa.sources,
            }
            scope = sa.project or next(
                (p for g in sa.grants.values() if (p := project_of_resource(g.scope))), ""
            )
            if description:
                attributes["description"] = description
            if is_service_agent(email):
                attributes["managed_by_provider"] = True
            if is_default_sa(email):
                attributes["default_service_account"] = True
            if cross:
                attributes["cross_project_grants"] = cross
            federated = self.federated_of(sa, rec)
            if federated:
                attributes["federated_principals"] = federated
            number = self.numbers.get(sa.project)
            if number:
                attributes["project_number"] = number
            above = self.ancestors.get(sa.project) or (self.ancestors.get(number) if number else None)
            if sa.project and above:
                attributes["ancestors"] = list(above)
            if scope and (policies := org_policy.merged_for(scope, self.org_policies)) is not None:
                attributes["org_policies"] = policies
            out.append(
                Identity(
                    id=email,
                    provider=PROVIDER,
                    kind="gcp-service-account",
                    name=str(rec.get("displayName") or sa.name),
                    scope=scope,
                    owner=owner,
                    tags=labels,
                    credentials=tuple(sorted(sa.keys.values(), key=lambda c: c.id)),
                    grants=tuple(self.with_permissions(sa.grants[k]) for k in sorted(sa.grants)),
                    attributes=attributes,
                )
            )
        return out

    def with_permissions(self, grant: Grant) -> Grant:
        """The grant with its role's permissions as actions, when a role description gave them."""
        permissions = self.roles.get(grant.role or "")
        return replace(grant, actions=permissions) if permissions and not grant.actions else grant

    def federated_of(self, sa: _SA, rec: Mapping[str, Any]) -> list[dict[str, str]]:
        """Workload identity pool members bound on the account or on its project."""
        if not self.federated:
            return []
        keys = [
            f"projects/{p}/serviceAccounts/{x}"
            for p in dict.fromkeys((sa.project, "-"))
            for x in (sa.email, rec.get("uniqueId"))
            if p and x
        ]
        if sa.project:
            keys.append(f"projects/{sa.project}")
        if self.numbers.get(sa.project):
            keys.append(f"projects/{self.numbers[sa.project]}")
        return [
            {"member": member, "role": role, "resource": key, **({"condition": cond} if cond else {})}
            for key in keys
            for member, role, cond in self.federated.get(key, ())
        ]


def sa_resource_key(resource: str) -> str:
    """A service account's resource name as policies and asset results write it, in one form:
    ``projects/P/serviceAccounts/EMAIL_OR_UNIQUE_ID`` (other resources unchanged)."""
    return resource.removeprefix("//iam.googleapis.com/").strip("/")


_PROJECT_IN_RESOURCE = re.compile(r"^(?://[a-z.]+/)?projects/([^/]+)(?:/|$)")


def _member_facts(builder: _Builder) -> list[Observation]:
    """One fact per policy resource: its user, group and domain members and their roles, for
    gcp-external-principal (the organization's domains are that rule's parameter)."""
    out = []
    for resource in sorted(builder.principals):
        path, members = builder.principals[resource]
        out.append(
            Observation(
                rule_id=MEMBERS_RULE,
                location=Location(path=path),
                message=f"{len(members)} user, group and domain bindings on {resource}",
                attributes={"resource": resource, "members": [list(m) for m in sorted(members)]},
            )
        )
    return out


def _project_from_name(name: Any) -> str | None:
    m = re.match(r"^projects/([^/]+)/", str(name or ""))
    return m.group(1) if m and m.group(1) != "-" else None


_HANDLERS = {
    "gcp-service-accounts": _Builder.service_accounts,
    "gcp-service-account-keys": _Builder.keys,
    "gcp-iam-policy": _Builder.policy,
    "gcp-asset-iam-policies": _Builder.asset_policies,
    "gcp-org-policies": _Builder.org_policy_list,
    "gcp-roles": _Builder.role_list,
    "gcp-workload-identity-providers": _Builder.wif_providers,
}


def normalize(docs: Sequence[RawDocument], settings: Settings) -> ProviderResult:
    builder = _Builder()
    for doc in docs:
        handler = _HANDLERS.get(doc.kind)
        if handler is None:
            builder.result.errors.append(SourceError(doc.path, f"unsupported GCP export kind {doc.kind}"))
            continue
        try:
            handler(builder, doc)
        except (KeyError, TypeError, AttributeError) as exc:
            builder.result.errors.append(SourceError(doc.path, f"malformed {doc.kind} export: {exc!r}"))
            continue
        except ValueError as exc:
            builder.result.errors.append(SourceError(doc.path, str(exc)))
            continue
        builder.result.sources.append(SourceRef(doc.kind, doc.scope, doc.path))
    builder.result.identities.extend(builder.identities())
    builder.result.observations.extend(_member_facts(builder))
    return builder.result
