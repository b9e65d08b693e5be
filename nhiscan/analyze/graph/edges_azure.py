"""Azure escalation edges: who can act as which service principal or managed identity.

An edge ``A -> B`` means A can act as B (service-principal object ids, as the inventory has them):

- ``azure-app-owner`` / ``azure-sp-owner``: an owner of B's application registration or of B's
  service principal (Graph ``$expand=owners``) can add a client secret or certificate to it and
  sign in as B. Only owners that are service principals of the inventory make edges (people are not
  inventoried); managed identities take no credentials and get no owner edges.
- ``azure-graph-application-write``: the Microsoft Graph application permission
  ``Application.ReadWrite.All`` adds credentials to any application: an edge to every service
  principal of the tenant that is not a managed identity.
- ``azure-directory-app-admin``: the directory roles Application Administrator and Cloud
  Application Administrator (tenant-wide) do the same.
- ``azure-graph-app-role-assignment-self-grant``, ``azure-graph-role-management-self-grant``:
  ``AppRoleAssignment.ReadWrite.All`` (grant itself any Graph permission) and
  ``RoleManagement.ReadWrite.Directory`` (give itself any directory role) are self-edges;
  ``azure-directory-role-self-grant``: the Global Administrator and Privileged Role Administrator
  directory roles (tenant-wide).
- ``azure-role-assignment-self-grant``: Owner, User Access Administrator, Role Based Access Control
  Administrator (or a role whose known actions include
  ``Microsoft.Authorization/roleAssignments/write``) at the root, a management group or a
  subscription can grant itself any role there: a self-edge.
- ``azure-managed-identity-in-scope``: the same roles at any scope reach every user-assigned or
  system-assigned managed identity whose resource lies in that scope (it can grant itself the right
  to attach the identity to compute it controls).
- ``azure-federated-credential``: a federated identity credential of B's application admits tokens
  of its issuer and subject: an edge from the pseudo-node ``federated:<issuer>|<subject>`` to B.

A role assignment with an ABAC condition makes ``conditional`` edges naming the condition.
Directory roles scoped to one application or administrative unit make no edge. Each source keeps at
most ``xcloud.TARGET_CAP`` edges per technique, the most privileged targets first.

Self-edge convention: an edge from a node to itself whose kind ends in ``-self-grant`` means "this
identity can grant itself any permission" (the graph treats it as reaching admin).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import datetime

from nhiscan.analyze.graph.edge import Edge
from nhiscan.analyze.graph.xcloud import PathIndex, Ranker, capped, records, strings
from nhiscan.model import Grant, Identity, Inventory

ROLE_ASSIGNING = frozenset({"owner", "user access administrator", "role based access control administrator"})
_ASSIGN_ACTIONS = frozenset(
    {"*", "microsoft.authorization/*", "microsoft.authorization/roleassignments/write"}
)
APP_WRITERS_GRAPH = frozenset({"Application.ReadWrite.All"})
SELF_GRANT_GRAPH: Mapping[str, str] = {
    "AppRoleAssignment.ReadWrite.All": "azure-graph-app-role-assignment-self-grant",
    "RoleManagement.ReadWrite.Directory": "azure-graph-role-management-self-grant",
}
APP_ADMIN_ROLES = frozenset({"Application Administrator", "Cloud Application Administrator"})
SELF_GRANT_ROLES = frozenset({"Global Administrator", "Privileged Role Administrator"})
_TOP_SCOPE = re.compile(
    r"^(?:/|/subscriptions/[^/]+|/providers/microsoft\.management/managementgroups/[^/]+)/?$", re.IGNORECASE
)


def edges(inventory: Inventory, as_of: datetime) -> Iterator[Edge]:
    del as_of  # Azure assignments carry no dates the export decides
    principals = [i for i in inventory.identities if i.provider == "azure"]
    if not principals:
        return
    by_id = {i.id.lower(): i for i in principals}
    by_tenant: dict[str, list[Identity]] = {}
    in_scope: dict[str, list[Identity]] = {}  # lower-case scope prefix -> managed identities under it
    for identity in principals:
        if identity.kind != "azure-managed-identity":
            by_tenant.setdefault(identity.scope, []).append(identity)
        resource = identity.attributes.get("managed_identity_resource")
        if isinstance(resource, str) and resource:
            parts = resource.lower().strip("/").split("/")
            for n in range(2, len(parts) + 1):
                in_scope.setdefault("/" + "/".join(parts[:n]), []).append(identity)
    paths = PathIndex(inventory)
    ranker = Ranker({i.id: i for i in principals})
    for identity in principals:
        yield from _owner_edges(identity, by_id, paths)
        yield from _federated(identity, paths)
        yield from capped(_power_edges(identity, by_tenant, in_scope, paths, ranker), ranker.rank)


def _owner_edges(target: Identity, by_id: Mapping[str, Identity], paths: PathIndex) -> Iterator[Edge]:
    if target.kind == "azure-managed-identity":
        return
    for owner in records(target.attributes.get("owners")):
        source = by_id.get(str(owner.get("id") or "").lower())
        if source is None or source.id == target.id:
            continue
        of = "application" if owner.get("of") == "application" else "service principal"
        kind = "azure-app-owner" if of == "application" else "azure-sp-owner"
        via = f"owner of the {of} of {target.name} (can add a client secret)"
        yield Edge(source.id, target.id, kind, via, paths.get(("azure-app-list", "azure-sp-list")))


def _federated(target: Identity, paths: PathIndex) -> Iterator[Edge]:
    for fic in records(target.attributes.get("federated_credentials")):
        if not fic.get("issuer") or not fic.get("subject"):
            continue
        yield Edge(
            f"federated:{fic['issuer']}|{fic['subject']}",
            target.id,
            "azure-federated-credential",
            f"federated identity credential {fic.get('name') or ''} of {target.name}".replace("  ", " "),
            paths.get(("azure-federated-credentials", "azure-app-list")),
        )


def _power_edges(
    identity: Identity,
    by_tenant: Mapping[str, list[Identity]],
    in_scope: Mapping[str, list[Identity]],
    paths: PathIndex,
    ranker: Ranker,
) -> Iterator[Edge]:
    attrs = identity.attributes
    graph_path = paths.get(("azure-app-role-assignments",))
    for permission in strings(attrs.get("graph_app_roles")):
        kind = SELF_GRANT_GRAPH.get(permission)
        if kind:
            yield Edge(identity.id, identity.id, kind, f"Microsoft Graph {permission}", graph_path)
        elif permission in APP_WRITERS_GRAPH:
            via = f"Microsoft Graph {permission} (adds credentials to any application)"
            yield from _every_app(
                identity,
                ranker.top(by_tenant.get(identity.scope, [])),
                "azure-graph-application-write",
                via,
                graph_path,
            )
    role_path = paths.get(("azure-directory-role-assignments",))
    for role in strings(attrs.get("directory_roles")):
        if role in SELF_GRANT_ROLES:
            yield Edge(
                identity.id,
                identity.id,
                "azure-directory-role-self-grant",
                f"directory role {role}",
                role_path,
            )
        elif role in APP_ADMIN_ROLES:
            via = f"directory role {role} (adds credentials to any application)"
            yield from _every_app(
                identity,
                ranker.top(by_tenant.get(identity.scope, [])),
                "azure-directory-app-admin",
                via,
                role_path,
            )
    rbac_path = paths.get(("azure-role-assignments",))
    for g in identity.grants:
        if not _assigns_roles(g):
            continue
        cond = str((g.condition or {}).get("expression") or "") if g.condition else ""
        condition = f"role assignment condition {cond}" if cond else ""
        via = f"{g.role} at {g.scope or '/'} (can create role assignments)"
        if _TOP_SCOPE.match(g.scope or "/"):
            yield Edge(
                identity.id,
                identity.id,
                "azure-role-assignment-self-grant",
                via,
                rbac_path,
                conditional=bool(cond),
                condition=condition,
            )
        for target in ranker.top(in_scope.get((g.scope or "").lower().rstrip("/"), [])):
            if target.id != identity.id:
                yield Edge(
                    identity.id,
                    target.id,
                    "azure-managed-identity-in-scope",
                    f"{via}; {target.name} lies in that scope",
                    rbac_path,
                    conditional=bool(cond),
                    condition=condition,
                )


def _assigns_roles(g: Grant) -> bool:
    if g.effect != "Allow":
        return False
    if str(g.role or "").casefold() in ROLE_ASSIGNING:
        return True
    return any(a.lower() in _ASSIGN_ACTIONS for a in g.actions)


def _every_app(
    identity: Identity, targets: list[Identity], kind: str, via: str, path: str | None
) -> Iterator[Edge]:
    for target in targets:
        if target.id != identity.id:
            yield Edge(identity.id, target.id, kind, via, path)
