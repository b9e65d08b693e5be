"""Azure: service principals, managed identities, their app credentials and RBAC role assignments.

Identity ids are service-principal object ids (the ``principalId`` of role assignments); the
application (client) id is kept in ``attributes.app_id`` so a leaked client id/secret pair can be
matched. The scope is the tenant id: ``--input TENANT=FILE`` on any of the documents, else the
owner organization of the tenant's own app registrations (service principals whose appId appears
in the app list), else the most common owner organization that is not Microsoft's.

Credentials come from the app registration (``az ad app list``: passwordCredentials are client
secrets, keyCredentials certificates; joined on appId) and from the service principal object
itself. Managed identities' certificates are platform-managed and not listed. Secret values never
appear in these exports; the ``hint`` (first three characters) is kept.

For the escalation graph three more facts are kept on service principals: ``owners`` (the owners
of the application and of the service principal, from Graph's ``$expand=owners``, as
``{id, type}``), ``graph_app_roles`` (the Microsoft Graph application permissions granted to it,
by name, from ``.../servicePrincipals/ID/appRoleAssignments``) and ``directory_roles`` (its Entra ID
directory roles, from ``roleManagement/directory/roleAssignments?$expand=roleDefinition``).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from nhiscan.config import Settings
from nhiscan.model import Credential, Grant, Identity, SourceError, SourceRef
from nhiscan.shard import grant_identity
from nhiscan.sources.azure import diagnostics
from nhiscan.sources.documents import ProviderResult, RawDocument
from nhiscan.sources.shape import TIME, check, label
from nhiscan.sources.timeparse import parse_time

PROVIDER = "azure"
FEDERATED = "azure-federated-credentials"

# Tenants that own Microsoft's first-party applications.
MICROSOFT_TENANTS = frozenset(
    {
        "f8cdef31-a31e-4b4a-93e4-5f571e91255a",  # Microsoft Services
        "72f988bf-86f1-41af-91ab-2d7cd011db47",  # Microsoft
        "33e01921-4d64-4f8c-a055-5bdaffd5e33d",  # Microsoft (AME)
        "cdc5aeea-15c5-4db6-b079-fcadd2505dc2",  # Microsoft (Azure first-party)
    }
)

# Built-in role definition GUIDs (the ARM form names roles only by id).
BUILTIN_ROLES: Mapping[str, str] = {
    "8e3af657-a8ff-443c-a75c-2fe8c4bcb635": "Owner",
    "b24988ac-6180-42a0-ab88-20f7382dd24c": "Contributor",
    "acdd72a7-3385-48ef-bd42-f606fba81ae7": "Reader",
    "18d7d88d-d35e-4fb5-a5c3-7773c4a72b9d": "User Access Administrator",
    "f58310d9-a9f6-439a-9e8d-f62e7b41a168": "Role Based Access Control Administrator",
    "00482a5a-887f-4fb3-b363-3b7fe8e74483": "Key Vault Administrator",
    "4633458b-17de-408a-b874-0445c86b69e6": "Key Vault Secrets User",
    "ba92f5b4-2d11-453d-a403-e96b0029c9fe": "Storage Blob Data Contributor",
    "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1": "Storage Blob Data Reader",
    "f1a07417-d97a-45cb-824c-7a7467783830": "Managed Identity Operator",
    "9980e02c-c2be-4d73-94e8-173b1dc7cf3c": "Virtual Machine Contributor",
}

# Microsoft Graph application permissions (appRoleId -> name) that matter for escalation.
GRAPH_APP_ROLES: Mapping[str, str] = {
    "1bfefb4e-e0b5-418b-a88f-73c46d2cc8e9": "Application.ReadWrite.All",
    "18a4783c-866b-4cc7-a460-3d5e5662c884": "Application.ReadWrite.OwnedBy",
    "06b708a9-e830-4db3-a914-8e69da51d44f": "AppRoleAssignment.ReadWrite.All",
    "9e3f62cf-ca93-4989-b6ce-bf83c28f9fe8": "RoleManagement.ReadWrite.Directory",
    "19dbc75e-c2e2-444c-a770-ec69d8559fc7": "Directory.ReadWrite.All",
}
# Entra ID directory role templates (roleDefinitionId of built-in roles -> name).
DIRECTORY_ROLES: Mapping[str, str] = {
    "62e90394-69f5-4237-9190-012177145e10": "Global Administrator",
    "e8611ab8-c189-46e8-94e1-60213ab1f814": "Privileged Role Administrator",
    "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3": "Application Administrator",
    "158c047a-c907-4556-b7ef-446551a6b5f7": "Cloud Application Administrator",
}
APP_ROLE_ASSIGNMENTS = "azure-app-role-assignments"
DIRECTORY_ROLE_ASSIGNMENTS = "azure-directory-role-assignments"

# What each record must look like (missing or null fields are fine; see nhiscan.sources.shape).
_SCALAR = (str, int, float, bool)
_CRED_SHAPE = [{"keyId": str, "displayName": str, "hint": str, "startDateTime": TIME, "endDateTime": TIME}]
_SHAPES: Mapping[str, dict[str, Any]] = {
    "azure-sp-list": {
        "id": str,
        "appId": str,
        "displayName": str,
        "appDisplayName": str,
        "servicePrincipalType": str,
        "appOwnerOrganizationId": str,
        "publisherName": str,
        "verifiedPublisher": {"displayName": str},
        "accountEnabled": bool,
        "alternativeNames": [str],
        "tags": [str],
        "createdDateTime": TIME,
        "passwordCredentials": _CRED_SHAPE,
        "keyCredentials": _CRED_SHAPE,
    },
    "azure-app-list": {
        "appId": str,
        "signInAudience": str,
        "federatedIdentityCredentials": [{"name": str, "issuer": str, "subject": str}],
        "createdDateTime": TIME,
        "passwordCredentials": _CRED_SHAPE,
        "keyCredentials": _CRED_SHAPE,
    },
    APP_ROLE_ASSIGNMENTS: {
        "appRoleId": str,
        "principalId": str,
        "resourceId": str,
        "resourceDisplayName": str,
    },
    DIRECTORY_ROLE_ASSIGNMENTS: {
        "principalId": str,
        "roleDefinitionId": str,
        "directoryScopeId": str,
        "roleDefinition": {"displayName": str, "templateId": str},
    },
    "azure-federated-credentials": {
        "name": str,
        "issuer": str,
        "subject": str,
        "audiences": [str],
    },
    "azure-role-assignments": {
        "principalId": str,
        "principalType": str,
        "principalName": str,
        "scope": str,
        "roleDefinitionName": str,
        "roleDefinitionId": str,
        "condition": str,
    },
}

# The field without which a record cannot be joined to the others (a record lacking it is an error).
_REQUIRED = {
    "azure-sp-list": "id",
    "azure-app-list": "appId",
    "azure-role-assignments": "principalId",
    APP_ROLE_ASSIGNMENTS: "principalId",
    DIRECTORY_ROLE_ASSIGNMENTS: "principalId",
}
# Compared without regard to case (hand-made and PowerShell exports vary it).
_HUMAN_PRINCIPALS = frozenset({"user", "group", "foreigngroup"})


def _checked(doc: RawDocument, result: ProviderResult) -> list[dict[str, Any]]:
    """The records of a document that have the expected shape; one error for each other record."""
    shape = _SHAPES.get(doc.kind)
    out = []
    raw = doc.data.get("value") if isinstance(doc.data, dict) else doc.data
    for i, item in enumerate(raw if isinstance(raw, list) else ()):
        try:
            check(item, shape or {}, nullable=False)
            props = item.get("properties") if doc.kind == "azure-role-assignments" else None
            if isinstance(props, dict):
                check(props, shape or {}, "properties")
            required = _REQUIRED.get(doc.kind)
            if required and not (props if isinstance(props, dict) else item).get(required):
                raise ValueError(f"no {required}")
            for creds in ("passwordCredentials", "keyCredentials"):
                for j, entry in enumerate(item.get(creds) or ()):
                    if not entry.get("keyId"):
                        raise ValueError(f"{creds}[{j}]: no keyId")
        except ValueError as exc:
            name = label(item, "displayName", "appId", "id", "principalName", "principalId")
            result.errors.append(SourceError(doc.path, f"[{i}]{name}: {exc}; skipped"))
            continue
        out.append(item)
    return out


def _role_name(props: Mapping[str, Any]) -> str:
    name = props.get("roleDefinitionName")
    if name:
        return str(name)
    rid = str(props.get("roleDefinitionId") or "")
    guid = rid.rstrip("/").rsplit("/", 1)[-1].lower()
    return BUILTIN_ROLES.get(guid, rid)


def _credentials(entries: Iterable[Mapping[str, Any]], kind: str, source: str) -> list[Credential]:
    out = []
    for entry in entries:
        if not isinstance(entry, Mapping) or not entry.get("keyId"):
            continue
        attrs: dict[str, Any] = {"source": source}
        if entry.get("displayName"):
            attrs["display_name"] = entry["displayName"]
        if kind == "azure-client-secret" and entry.get("hint"):
            attrs["hint"] = str(entry["hint"])[:3]
        if kind == "azure-certificate":
            for key in ("type", "usage"):
                if entry.get(key):
                    attrs[key] = entry[key]
        out.append(
            Credential(
                id=str(entry["keyId"]),
                kind=kind,
                created=parse_time(entry.get("startDateTime")),
                expires=parse_time(entry.get("endDateTime")),
                attributes=attrs,
            )
        )
    return out


def _tenant(docs: Sequence[RawDocument], sps: list[dict[str, Any]], app_ids: set[str]) -> str:
    for doc in docs:
        if doc.scope and doc.kind != FEDERATED:  # that scope names an application
            return doc.scope
    own = Counter(
        str(sp["appOwnerOrganizationId"])
        for sp in sps
        if sp.get("appId") in app_ids and sp.get("appOwnerOrganizationId")
    )
    if own:
        return own.most_common(1)[0][0]
    others = Counter(
        str(sp["appOwnerOrganizationId"])
        for sp in sps
        if sp.get("appOwnerOrganizationId") and str(sp["appOwnerOrganizationId"]) not in MICROSOFT_TENANTS
    )
    return others.most_common(1)[0][0] if others else ""


def normalize(docs: Sequence[RawDocument], settings: Settings) -> ProviderResult:
    result = ProviderResult()
    sps: list[dict[str, Any]] = []
    apps: dict[str, dict[str, Any]] = {}
    assignments: list[dict[str, Any]] = []
    diagnostic = [d for d in docs if d.kind == diagnostics.KIND]
    docs = [d for d in docs if d.kind != diagnostics.KIND]
    federated: dict[str, list[dict[str, Any]]] = {}
    entra: dict[str, dict[str, list[str]]] = {}  # principal id -> graph_app_roles / directory_roles
    for doc in docs:
        if doc.kind == FEDERATED:
            app_key = _federated_app(doc)
            if app_key is None:
                result.errors.append(
                    SourceError(
                        doc.path,
                        "a federated-credential list does not name its application; pass it as "
                        "--input APPID=FILE (an empty list as --input applications/APPID=FILE)",
                    )
                )
                continue
            federated.setdefault(app_key, []).extend(_checked(doc, result))
            result.sources.append(SourceRef(doc.kind, doc.scope, doc.path))
            continue
        items = _checked(doc, result)
        if doc.kind == "azure-sp-list":
            sps.extend(items)
        elif doc.kind == "azure-app-list":
            apps.update({str(a["appId"]): a for a in items if a.get("appId")})
            for a in items:
                # Graph `applications?$expand=federatedIdentityCredentials` (and live collection)
                expanded = a.get("federatedIdentityCredentials")
                if a.get("appId") and isinstance(expanded, list):
                    federated.setdefault(str(a["appId"]).lower(), []).extend(
                        f for f in expanded if isinstance(f, dict)
                    )
        elif doc.kind == APP_ROLE_ASSIGNMENTS:
            for item in items:
                guid = str(item.get("appRoleId") or "").lower()
                name = GRAPH_APP_ROLES.get(guid)
                if name:  # other APIs' roles and Graph's harmless ones do not matter here
                    _add_unique(entra, str(item["principalId"]).lower(), "graph_app_roles", name)
        elif doc.kind == DIRECTORY_ROLE_ASSIGNMENTS:
            for item in items:
                definition = item.get("roleDefinition") or {}
                guid = str(item.get("roleDefinitionId") or "").lower()
                role = str(definition.get("displayName") or DIRECTORY_ROLES.get(guid) or guid)
                if str(item.get("directoryScopeId") or "/") != "/":
                    role = f"{role} ({item.get('directoryScopeId')})"  # scoped to one app or unit
                _add_unique(entra, str(item["principalId"]).lower(), "directory_roles", role)
        elif doc.kind == "azure-role-assignments":
            for item in items:
                nested = item.get("properties")
                props: dict[str, Any] = nested if isinstance(nested, dict) else item
                assignments.append(dict(props))
        else:
            result.errors.append(SourceError(doc.path, f"unsupported Azure export kind {doc.kind}"))
            continue
        result.sources.append(SourceRef(doc.kind, doc.scope, doc.path))
    tenant = _tenant(docs, sps, set(apps))
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for doc in diagnostic:
        try:
            diagnostics.load(doc, tenant, result, found)
        except ValueError as exc:
            result.errors.append(SourceError(doc.path, str(exc)))
            continue
        result.sources.append(SourceRef(doc.kind, doc.scope, doc.path))
    result.logging.extend(diagnostics.configs(found))

    grants: dict[str, dict[tuple[Any, ...], Grant]] = {}
    seen_principals: dict[str, dict[str, Any]] = {}
    for a in assignments:
        if str(a.get("principalType") or "ServicePrincipal").casefold() in _HUMAN_PRINCIPALS:
            continue
        pid = str(a.get("principalId") or "").lower()  # object ids are GUIDs: case does not matter
        if not pid:
            continue
        scope = str(a.get("scope") or "")
        condition = {"expression": a["condition"]} if a.get("condition") else None
        g = Grant(
            role=_role_name(a), scope=scope, resources=(scope,), via="role-assignment", condition=condition
        )
        grants.setdefault(pid, {}).setdefault(grant_identity(g), g)
        seen_principals.setdefault(pid, a)
    # one order whatever order the subscriptions were read in: a merge of shards gives the same
    ordered = {pid: sorted(found.values(), key=assignment_key) for pid, found in grants.items()}

    identities: list[Identity] = []
    known: set[str] = set()
    for sp in sps:
        oid = str(sp.get("id") or "").lower()
        if not oid or oid in known:
            continue
        known.add(oid)
        app = apps.get(str(sp.get("appId")))
        identity = _identity(sp, app, ordered.get(oid, []), tenant, _federation_of(app, federated))
        extra: dict[str, Any] = dict(entra.get(oid, {}))
        owners = _owners(app, sp)
        if owners:
            extra["owners"] = owners
        if extra:
            identity = replace(identity, attributes={**identity.attributes, **extra})
        identities.append(identity)
    # Principals that hold roles but are missing from the sp list (deleted, or list filtered).
    for pid, a in sorted(seen_principals.items()):
        if pid in known:
            continue
        identities.append(
            Identity(
                id=pid,
                provider=PROVIDER,
                kind="azure-service-principal",
                name=str(a.get("principalName") or pid),
                scope=tenant,
                grants=tuple(ordered[pid]),
                attributes={"in_service_principal_list": False, "principal_type": a.get("principalType")},
            )
        )
    result.identities.extend(identities)
    return result


def _add_unique(into: dict[str, dict[str, list[str]]], pid: str, key: str, value: str) -> None:
    values = into.setdefault(pid, {}).setdefault(key, [])
    if value not in values:
        values.append(value)


def _owners(app: Mapping[str, Any] | None, sp: Mapping[str, Any]) -> list[dict[str, str]]:
    """The owners Graph's ``$expand=owners`` lists on the app registration and the service principal."""
    out: list[dict[str, str]] = []
    seen: set[str] = set()
    for holder, where in ((app or {}, "application"), (sp, "service-principal")):
        for owner in holder.get("owners") or ():
            if not isinstance(owner, Mapping) or not owner.get("id"):
                continue
            oid = str(owner["id"]).lower()
            if oid in seen:
                continue
            seen.add(oid)
            kind = str(owner.get("@odata.type") or "").rsplit(".", 1)[-1] or "unknown"
            out.append({"id": oid, "type": kind, "of": where})
    return out


def assignment_key(g: Grant) -> tuple[str, ...]:
    """The order of a principal's role assignments: by scope, role and condition."""
    return (g.scope.lower(), g.scope, g.role or "", str((g.condition or {}).get("expression") or ""))


def _federated_app(doc: RawDocument) -> str | None:
    """The application a federated-credential list belongs to (appId or object id, lower case)."""
    if doc.scope:
        return doc.scope.removeprefix("applications/").strip().lower() or None
    context = str(doc.data.get("@odata.context", "")) if isinstance(doc.data, dict) else ""
    m = re.search(r"applications\('([^']+)'\)", context)
    return m.group(1).lower() if m else None


def _federation_of(
    app: Mapping[str, Any] | None, federated: Mapping[str, list[dict[str, Any]]]
) -> list[dict[str, Any]] | None:
    """The federated credentials exported for an app registration (None: none were exported)."""
    if app is None:
        return None
    for key in (app.get("appId"), app.get("id")):
        if key and str(key).lower() in federated:
            return federated[str(key).lower()]
    return None


def _identity(
    sp: Mapping[str, Any],
    app: Mapping[str, Any] | None,
    grants: list[Grant],
    tenant: str,
    federation: list[dict[str, Any]] | None = None,
) -> Identity:
    sp_type = str(sp.get("servicePrincipalType") or "Application")
    managed = sp_type.casefold() == "managedidentity"
    owner_org = str(sp.get("appOwnerOrganizationId") or "")
    attributes: dict[str, Any] = {
        "app_id": sp.get("appId"),
        "service_principal_type": sp_type,
        "app_owner_organization_id": owner_org or None,
        "account_enabled": sp.get("accountEnabled", True),
        "in_service_principal_list": True,
    }
    publisher = sp.get("verifiedPublisher")
    if isinstance(publisher, Mapping) and publisher.get("displayName"):
        attributes["verified_publisher"] = str(publisher["displayName"])
    if sp.get("publisherName"):
        attributes["publisher_name"] = str(sp["publisherName"])
    if federation is not None:
        attributes["federated_credentials"] = [
            {"name": f.get("name"), "issuer": f.get("issuer"), "subject": f.get("subject")}
            for f in federation
        ]
    if owner_org in MICROSOFT_TENANTS:
        attributes["managed_by_provider"] = True
        attributes["microsoft_first_party"] = True
    elif owner_org and tenant and owner_org != tenant and not managed:
        attributes["third_party"] = True
    if managed:
        resource_ids = [n for n in sp.get("alternativeNames") or () if str(n).startswith("/subscriptions/")]
        if resource_ids:
            attributes["managed_identity_resource"] = resource_ids[0]
            attributes["managed_identity_type"] = (
                "user-assigned" if "/userAssignedIdentities/" in resource_ids[0] else "system-assigned"
            )
    creds: list[Credential] = []
    if not managed:
        if app is not None:
            attributes["app_registration"] = True
            attributes["sign_in_audience"] = app.get("signInAudience")
            creds += _credentials(
                app.get("passwordCredentials") or (), "azure-client-secret", "app-registration"
            )
            creds += _credentials(app.get("keyCredentials") or (), "azure-certificate", "app-registration")
        creds += _credentials(sp.get("passwordCredentials") or (), "azure-client-secret", "service-principal")
        creds += _credentials(sp.get("keyCredentials") or (), "azure-certificate", "service-principal")
    tags_list = [str(t) for t in sp.get("tags") or ()]
    tags = {t.partition(":")[0]: t.partition(":")[2] for t in tags_list if ":" in t}
    tags.update({t: "" for t in tags_list if ":" not in t})
    owner: str | None = None
    for key in ("owner", "Owner", "team", "Team"):
        if tags.get(key):
            owner = tags[key]
            break
    return Identity(
        id=str(sp["id"]),
        provider=PROVIDER,
        kind="azure-managed-identity" if managed else "azure-service-principal",
        name=str(sp.get("displayName") or sp.get("appDisplayName") or sp["id"]),
        scope=tenant,
        owner=owner,
        created=parse_time(sp.get("createdDateTime") or (app or {}).get("createdDateTime")),
        tags=tags,
        credentials=tuple(creds),
        grants=tuple(grants),
        attributes=attributes,
    )
