"""GCP escalation edges: who can act as which service account.

An edge ``A -> B`` means A can act as service account B. Each role binding of A (project, folder,
organization or service-account policy; ``gcloud projects get-iam-policy``, ``gcloud iam
service-accounts get-iam-policy`` given as ``--input projects/P/serviceAccounts/EMAIL=FILE``, or
Cloud Asset Inventory ``search-all-iam-policies``) that holds one of these permissions makes an
edge to every service account the binding's resource covers:

- ``gcp-token-creator``: ``iam.serviceAccounts.getAccessToken``/``signBlob``/``signJwt``/
  ``implicitDelegation`` (``roles/iam.serviceAccountTokenCreator``);
- ``gcp-act-as``: ``iam.serviceAccounts.actAs`` (``roles/iam.serviceAccountUser``);
- ``gcp-key-create``: ``iam.serviceAccountKeys.create`` (``roles/iam.serviceAccountKeyAdmin``);
- ``gcp-workload-identity-user``: ``roles/iam.workloadIdentityUser`` (also GKE's
  ``PROJECT.svc.id.goog[NS/NAME]`` members, which the GCP source keeps as identities);
- ``gcp-set-iam-policy``: ``iam.serviceAccounts.setIamPolicy`` on the account, or
  ``setIamPolicy`` on its project, folder or organization (``roles/iam.serviceAccountAdmin``,
  ``roles/iam.securityAdmin``, ``roles/resourcemanager.projectIamAdmin``, ``folderAdmin``,
  ``folderIamAdmin``, ``organizationAdmin``): it can grant itself any of the above;
- ``gcp-owner`` / ``gcp-editor``: the primitive roles (``roles/owner`` holds every permission
  above; ``roles/editor`` holds ``iam.serviceAccounts.actAs``).

Grants whose ``actions`` list permissions (a custom role whose permissions are known) are read by
permission instead. A service account binding covers that account only; a project binding every
account of the project (named by id, or by the number asset results pair with it); a folder or organization binding every account whose project lies under
it (``ancestors``, from Cloud Asset Inventory results). When an account's ancestry is not in the
exports, a folder or organization binding still makes the edge, marked ``conditional``. A binding
with an IAM condition makes a ``conditional`` edge naming the condition.

Workload identity federation: a ``principal://`` or ``principalSet://`` member of a workload
identity pool bound with ``roles/iam.workloadIdentityUser`` (or token creator) on an account or
its project makes an edge ``gcp-workload-identity-federation`` from the pseudo-node
``federated:<member>`` to the account.

Each source keeps at most ``xcloud.TARGET_CAP`` edges per technique, the most privileged targets
first. Self-edges (``-self-grant`` kinds, "can grant itself any permission") are not made here:
project-level IAM writers reach every account of the project instead.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime

from nhiscan.analyze.graph.edge import Edge
from nhiscan.analyze.graph.xcloud import PathIndex, Ranker, capped, records, strings
from nhiscan.model import Grant, Identity, Inventory

ROLE_KINDS: Mapping[str, tuple[str, str]] = {
    "roles/iam.serviceAccountTokenCreator": (
        "gcp-token-creator",
        "iam.serviceAccounts.getAccessToken/signBlob/signJwt/implicitDelegation",
    ),
    "roles/iam.serviceAccountUser": ("gcp-act-as", "iam.serviceAccounts.actAs"),
    "roles/iam.serviceAccountKeyAdmin": ("gcp-key-create", "iam.serviceAccountKeys.create"),
    "roles/iam.workloadIdentityUser": ("gcp-workload-identity-user", "iam.serviceAccounts.getAccessToken"),
    "roles/iam.serviceAccountAdmin": ("gcp-set-iam-policy", "iam.serviceAccounts.setIamPolicy"),
    "roles/iam.securityAdmin": ("gcp-set-iam-policy", "setIamPolicy"),
    "roles/resourcemanager.projectIamAdmin": ("gcp-set-iam-policy", "resourcemanager.projects.setIamPolicy"),
    "roles/resourcemanager.folderAdmin": ("gcp-set-iam-policy", "resourcemanager.folders.setIamPolicy"),
    "roles/resourcemanager.folderIamAdmin": ("gcp-set-iam-policy", "resourcemanager.folders.setIamPolicy"),
    "roles/resourcemanager.organizationAdmin": (
        "gcp-set-iam-policy",
        "resourcemanager.organizations.setIamPolicy",
    ),
    "roles/owner": ("gcp-owner", "roles/owner"),
    "roles/editor": ("gcp-editor", "iam.serviceAccounts.actAs"),
}
PERMISSION_KINDS: Mapping[str, str] = {
    "iam.serviceAccounts.getAccessToken": "gcp-token-creator",
    "iam.serviceAccounts.signBlob": "gcp-token-creator",
    "iam.serviceAccounts.signJwt": "gcp-token-creator",
    "iam.serviceAccounts.implicitDelegation": "gcp-token-creator",
    "iam.serviceAccounts.actAs": "gcp-act-as",
    "iam.serviceAccountKeys.create": "gcp-key-create",
    "iam.serviceAccounts.setIamPolicy": "gcp-set-iam-policy",
    "resourcemanager.projects.setIamPolicy": "gcp-set-iam-policy",
    "resourcemanager.folders.setIamPolicy": "gcp-set-iam-policy",
    "resourcemanager.organizations.setIamPolicy": "gcp-set-iam-policy",
}
# Roles that let a federated or GKE workload identity obtain the account's tokens.
TOKEN_ROLES = frozenset({"roles/iam.workloadIdentityUser", "roles/iam.serviceAccountTokenCreator"})
_SA_RESOURCE = re.compile(r"^(?://iam\.googleapis\.com/)?projects/([^/]+)/serviceAccounts/([^/]+)$")
_GKE_MEMBER = re.compile(r"^(?P<pool>[^\[\]]+\.svc\.id\.goog)\[(?P<ns>[^/\]]+)/(?P<name>[^\]]+)\]$")
_SOURCE_KINDS = {
    "project-iam-policy": ("gcp-iam-policy",),
    "asset-search": ("gcp-asset-iam-policies",),
}


class SaIndex:
    """GCP service accounts by e-mail, unique id, project and ancestor (built once)."""

    def __init__(self, inventory: Inventory) -> None:
        self.by_email: dict[str, Identity] = {}
        self.by_unique: dict[str, Identity] = {}
        self.by_project: dict[str, list[Identity]] = {}
        self.by_ancestor: dict[str, list[Identity]] = {}
        self.no_ancestry: list[Identity] = []
        self.gke_members: dict[tuple[str, str], list[Identity]] = {}
        self.holders: list[Identity] = []  # identities with bindings (sources of edges)
        for identity in inventory.identities:
            if identity.provider != "gcp":
                continue
            if identity.grants:
                self.holders.append(identity)
            m = _GKE_MEMBER.match(identity.id)
            if m:
                self.gke_members.setdefault((m.group("ns"), m.group("name")), []).append(identity)
                continue
            if "@" not in identity.id:
                continue
            self.by_email[identity.id.lower()] = identity
            unique = identity.attributes.get("unique_id")
            if unique:
                self.by_unique[str(unique)] = identity
            if identity.scope:
                self.by_project.setdefault(identity.scope, []).append(identity)
            number = identity.attributes.get("project_number")
            if isinstance(number, str) and number and number != identity.scope:
                self.by_project.setdefault(number, []).append(identity)
            ancestors = strings(identity.attributes.get("ancestors"))
            if ancestors:
                for a in ancestors:
                    self.by_ancestor.setdefault(a, []).append(identity)
            else:
                self.no_ancestry.append(identity)

    def sa(self, email_or_id: str) -> Identity | None:
        return self.by_email.get(email_or_id.lower()) or self.by_unique.get(email_or_id)

    def covered(
        self, scope: str, top: Callable[[list[Identity]], list[Identity]]
    ) -> Iterator[tuple[Identity, str]]:
        """The service accounts a binding on ``scope`` applies to (of a large group, those ``top``
        keeps), each with the undecided condition under which it does ("" when it certainly does)."""
        m = _SA_RESOURCE.match(scope)
        if m:
            target = self.sa(m.group(2))
            if target is not None:
                yield target, ""
            return
        kind, _, name = scope.partition("/")
        if kind == "projects" and name and "/" not in name:
            yield from ((t, "") for t in top(self.by_project.get(name, [])))
        elif kind in ("folders", "organizations") and name and "/" not in name:
            yield from ((t, "") for t in top(self.by_ancestor.get(scope, [])))
            for t in top(self.no_ancestry):
                yield t, _unknown_ancestry(t, scope)

    def covers(self, scope: str, target: Identity) -> str | None:
        """Whether a binding on ``scope`` applies to ``target``: None if not, else the undecided
        condition under which it does ("" when it certainly does)."""
        m = _SA_RESOURCE.match(scope)
        if m:
            return "" if self.sa(m.group(2)) is target else None
        kind, _, name = scope.partition("/")
        if kind == "projects":
            return "" if name in (target.scope, target.attributes.get("project_number")) else None
        if kind in ("folders", "organizations"):
            ancestors = strings(target.attributes.get("ancestors"))
            if ancestors:
                return "" if scope in ancestors else None
            return _unknown_ancestry(target, scope)
        return None

    def workload_identity_users(self, target: Identity, ns: str, name: str) -> Iterator[tuple[str, str]]:
        """GKE members ``POOL.svc.id.goog[ns/name]`` that may get ``target``'s tokens: (member,
        undecided condition)."""
        for member in self.gke_members.get((ns, name), ()):
            for g in member.grants:
                if g.effect != "Allow" or g.role not in TOKEN_ROLES:
                    continue
                cond = self.covers(g.scope, target)
                if cond is not None:
                    yield member.id, _condition(g) or cond
                    break


def _unknown_ancestry(target: Identity, scope: str) -> str:
    return f"whether project {target.scope or '?'} lies under {scope} is not in the exports"


def index(inventory: Inventory) -> SaIndex:
    return SaIndex(inventory)


def _condition(g: Grant) -> str:
    if not g.condition:
        return ""
    c = g.condition
    return f"IAM condition {c.get('title') or c.get('expression') or 'on the binding'}"


def _kinds(g: Grant) -> list[tuple[str, str]]:
    """(technique, permission) pairs a grant holds."""
    if g.actions:
        found: dict[str, str] = {}
        for action in g.actions:
            kind = PERMISSION_KINDS.get(action)
            if kind:
                found.setdefault(kind, action)
        return sorted(found.items())
    known = ROLE_KINDS.get(g.role or "")
    return [known] if known else []


def edges(inventory: Inventory, as_of: datetime) -> Iterator[Edge]:
    del as_of  # GCP bindings carry no dates the export decides (IAM conditions are kept undecided)
    idx = SaIndex(inventory)
    if not idx.by_email:
        return
    paths = PathIndex(inventory)
    ranker = Ranker({i.id: i for i in idx.by_email.values()})
    for holder in idx.holders:
        yield from capped(_grant_edges(holder, idx, paths, ranker), ranker.rank)
    federated: dict[str, list[Edge]] = {}  # a pool member bound on a project reaches all its accounts
    for target in idx.by_email.values():
        for e in _federated(target):
            federated.setdefault(e.source, []).append(e)
    for found in federated.values():
        yield from capped(found, ranker.rank)


def _grant_edges(holder: Identity, idx: SaIndex, paths: PathIndex, ranker: Ranker) -> Iterator[Edge]:
    for g in holder.grants:
        if g.effect != "Allow":
            continue
        kinds = _kinds(g)
        if not kinds:
            continue
        path = paths.get(_SOURCE_KINDS.get(g.via, ()), g.scope if g.via == "project-iam-policy" else None)
        cond = _condition(g)
        for target, undecided in idx.covered(g.scope, ranker.top):
            if target.id == holder.id:
                continue
            said = cond or undecided
            for kind, permission in kinds:
                yield Edge(
                    holder.id,
                    target.id,
                    kind,
                    f"{permission} ({g.role or 'custom role'} on {g.scope})",
                    path,
                    conditional=bool(said),
                    condition=said,
                )


def _federated(target: Identity) -> Iterator[Edge]:
    for entry in records(target.attributes.get("federated_principals")):
        if entry.get("role") not in TOKEN_ROLES:
            continue
        cond = str(entry.get("condition") or "")
        yield Edge(
            f"federated:{entry.get('member')}",
            target.id,
            "gcp-workload-identity-federation",
            f"{entry.get('role')} for {entry.get('member')} on {entry.get('resource')}",
            conditional=bool(cond),
            condition=f"IAM condition {cond}" if cond else "",
        )
