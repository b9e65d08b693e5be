"""Kubernetes escalation edges: who can act as which service account, and which cloud identity a
service account becomes.

An edge ``A -> B`` means A can act as B. From the RBAC grants of each service account
(``nhiscan.sources.kubernetes``: one Grant per rule, ``scope`` a namespace or ``cluster``):

- ``k8s-create-workload``: ``create`` on pods, deployments, replicasets, statefulsets, daemonsets,
  jobs or cronjobs in a namespace -> every service account of that namespace (a pod may name any
  of them and mount its token). A rule with ``resourceNames`` cannot authorise ``create``.
- ``k8s-sa-token``: ``create`` on ``serviceaccounts/token`` -> the accounts it names (all of the
  namespace without ``resourceNames``).
- ``k8s-impersonate``: ``impersonate`` on ``serviceaccounts``, or on ``users`` named
  ``system:serviceaccount:NS:NAME`` -> those accounts. ``impersonate`` on users or groups without
  ``resourceNames`` is a self-edge ``k8s-impersonate-self-grant`` (it can impersonate
  ``system:masters``).
- ``bind`` or ``escalate`` on roles/clusterroles (without ``resourceNames``), together with the
  right to write the binding or role it needs (``create``/``update``/``patch`` rolebindings for
  ``bind``, roles for ``escalate``): cluster-wide, the self-edge ``k8s-rbac-self-grant``; in one
  namespace, ``k8s-rbac-escalate`` edges to every service account of that namespace (it can grant
  itself any namespaced permission, pod creation included, but not cluster-wide ones).
- ``k8s-read-token-secret``: ``get``/``list``/``watch`` on secrets in a namespace -> the accounts
  that have a legacy token Secret there (``resourceNames``, when given, must name the Secret).

Federation of a service account to a cloud identity (the account's pods get its credentials):

- ``k8s-irsa``: annotation ``eks.amazonaws.com/role-arn`` naming an IAM role in the inventory whose
  trust policy lets an OIDC provider's ``sts:AssumeRoleWithWebIdentity`` with a ``<provider>:sub``
  condition that admits ``system:serviceaccount:NS:NAME`` (``StringEquals``/``StringLike``, and the
  ``:aud`` condition, when present, must admit ``sts.amazonaws.com``; a ``Deny`` statement that
  matches blocks it). A trust with no ``sub`` condition admits every service account of the
  provider's cluster(s): the edge is made. Conditions on other keys, or with other operators, are
  not decided: the edge is ``conditional`` and names them. The
  inventory does not tell which OIDC provider a cluster uses, so the provider is named in ``via``.
- ``k8s-gke-workload-identity``: annotation ``iam.gke.io/gcp-service-account`` naming a service
  account on which (or on whose project, folder or organization) the member
  ``serviceAccount:POOL.svc.id.goog[NS/NAME]`` holds ``roles/iam.workloadIdentityUser``.
- ``k8s-azure-workload-identity``: annotation ``azure.workload.identity/client-id`` naming an
  application whose federated identity credential has the subject ``system:serviceaccount:NS:NAME``.

Self-edge convention: an edge from a node to itself whose kind ends in ``-self-grant`` means "this
identity can grant itself any permission" (the graph treats it as reaching admin). Other kinds never
make self-edges.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

from nhiscan.analyze.graph import edges_gcp
from nhiscan.analyze.graph.edge import Edge
from nhiscan.analyze.graph.xcloud import TARGET_CAP, PathIndex, Ranker, capped, records
from nhiscan.model import Grant, Identity, Inventory

_SOURCE_KINDS = ("kubernetes-objects",)
_WORKLOADS = (
    ("", "pods"),
    ("apps", "deployments"),
    ("apps", "replicasets"),
    ("apps", "statefulsets"),
    ("apps", "daemonsets"),
    ("batch", "jobs"),
    ("batch", "cronjobs"),
)
_RBAC = "rbac.authorization.k8s.io"
_SA_SUBJECT = "system:serviceaccount:"
_IRSA_AUDIENCE = "sts.amazonaws.com"
_WEB_IDENTITY = ("sts:AssumeRoleWithWebIdentity", "sts:*", "*")


@functools.lru_cache(maxsize=256)
def _forms(group: str, resource: str) -> frozenset[str]:
    """Every way a rule's resource list can name ``group/resource`` (see the normalizer's form)."""
    top = resource.split("/", 1)[0]
    sub = [f"{top}/*"] if "/" in resource else []
    if group == "":
        return frozenset({resource, "*", f"*/{resource}", "*/*", *sub, *(f"*/{s}" for s in sub)})
    return frozenset(
        {f"{group}/{resource}", f"{group}/*", f"*/{resource}", "*/*"} | {f"{group}/{s}" for s in sub}
    )


def _covers(g: Grant, verb: str, group: str, resource: str) -> bool:
    if g.effect != "Allow" or not ("*" in g.actions or verb in g.actions):
        return False
    return not _forms(group, resource).isdisjoint(g.resources)


def _names(g: Grant) -> tuple[str, ...] | None:
    """The rule's resourceNames, or None when it has none (it covers every name)."""
    cond = g.condition or {}
    names = cond.get("resourceNames") if isinstance(cond, Mapping) else None
    return tuple(str(n) for n in names) if names else None


class _Cluster:
    def __init__(self) -> None:
        self.everyone: list[Identity] = []
        self.by_ns: dict[str, list[Identity]] = {}
        self.by_name: dict[tuple[str, str], Identity] = {}
        # namespace ("" for the whole cluster) -> (secret name, account) of legacy token secrets
        self.tokens: dict[str, list[tuple[str, Identity]]] = {}

    def accounts(self, scope: str, ranker: Ranker) -> list[Identity]:
        """The (at most TARGET_CAP most privileged) accounts of a namespace or of the cluster."""
        return ranker.top(self.everyone if scope == "cluster" else self.by_ns.get(scope, []))

    def named(self, scope: str, names: tuple[str, ...]) -> list[Identity]:
        spaces = list(self.by_ns) if scope == "cluster" else [scope]
        return [t for ns in spaces for n in names if (t := self.by_name.get((ns, n))) is not None]


def edges(inventory: Inventory, as_of: datetime) -> Iterator[Edge]:
    del as_of  # RBAC grants carry no dates
    clusters: dict[str, _Cluster] = {}
    accounts: list[Identity] = []
    by_id: dict[str, Identity] = {}
    for identity in inventory.identities:
        if identity.provider != "kubernetes" or identity.kind != "kubernetes-service-account":
            continue
        attrs = identity.attributes
        ns = str(attrs.get("namespace") or "")
        name = str(attrs.get("cluster") or "")
        c = clusters.get(name) or clusters.setdefault(name, _Cluster())
        c.everyone.append(identity)
        c.by_ns.setdefault(ns, []).append(identity)
        c.by_name[(ns, identity.name)] = identity
        for cred in identity.credentials:
            if cred.kind == "k8s-sa-token":
                secret = (str(cred.attributes.get("secret") or ""), identity)
                c.tokens.setdefault(ns, []).append(secret)
                c.tokens.setdefault("", []).append(secret)
        accounts.append(identity)
        by_id[identity.id] = identity
    if not accounts:
        return
    paths = PathIndex(inventory)
    ranker = Ranker(by_id)
    for identity in accounts:
        cluster = clusters[str(identity.attributes.get("cluster") or "")]
        path = paths.get(_SOURCE_KINDS, identity.scope)
        found = _rbac_candidates(identity, cluster, ranker, path)
        yield from capped(found, ranker.rank)
    yield from _federation(inventory, accounts, paths)


def _writable(grants: list[Grant]) -> tuple[set[str], set[str]]:
    """Scopes (namespaces, "cluster") where the grants let it write role bindings, and roles."""
    bindings: set[str] = set()
    roles: set[str] = set()
    for g in grants:
        for verb in ("create", "update", "patch"):
            if any(_covers(g, verb, _RBAC, r) for r in ("rolebindings", "clusterrolebindings")):
                bindings.add(g.scope)
            if any(_covers(g, verb, _RBAC, r) for r in ("roles", "clusterroles")):
                roles.add(g.scope)
    return bindings, roles


def _rbac_candidates(
    identity: Identity, cluster: _Cluster, ranker: Ranker, path: str | None
) -> Iterator[Edge]:
    grants = [g for g in identity.grants if g.effect == "Allow" and not g.boundary]
    write_bindings, write_roles = _writable(grants)
    src = identity.id
    for g in grants:
        names = _names(g)
        where = "cluster-wide" if g.scope == "cluster" else f"in namespace {g.scope}"
        via_role = f"{g.role or 'a role'} via {g.via}" if g.via else (g.role or "a role")
        chosen = cluster.accounts(g.scope, ranker) if names is None else cluster.named(g.scope, names)
        if names is None:
            for group, res in _WORKLOADS:
                if _covers(g, "create", group, res):
                    via = f"create {res} {where} ({via_role})"
                    yield from [
                        Edge(src, t.id, "k8s-create-workload", via, path) for t in chosen if t.id != src
                    ]
                    break
        if _covers(g, "create", "", "serviceaccounts/token"):
            via = f"create serviceaccounts/token {where} ({via_role})"
            yield from [Edge(src, t.id, "k8s-sa-token", via, path) for t in chosen if t.id != src]
        if _covers(g, "impersonate", "", "serviceaccounts"):
            via = f"impersonate serviceaccounts {where} ({via_role})"
            yield from [Edge(src, t.id, "k8s-impersonate", via, path) for t in chosen if t.id != src]
        yield from _impersonate_users(g, src, cluster, names, via_role, path)
        if names is None:
            yield from _bind_escalate(g, src, cluster, ranker, write_bindings, write_roles, via_role, path)
        if any(_covers(g, verb, "", "secrets") for verb in ("get", "list", "watch")):
            via = f"read secrets {where} ({via_role})"
            tokens = cluster.tokens.get("" if g.scope == "cluster" else g.scope, [])
            kept = [(secret, t) for secret, t in tokens if t.id != src and (names is None or secret in names)]
            for secret, t in kept[: TARGET_CAP * 2]:  # an account may have several token secrets
                ns = t.attributes.get("namespace")
                yield Edge(src, t.id, "k8s-read-token-secret", f"{via}: {ns}/{secret}", path)


def _impersonate_users(
    g: Grant, src: str, cluster: _Cluster, names: tuple[str, ...] | None, via_role: str, path: str | None
) -> Iterator[Edge]:
    """``impersonate`` on users and groups (cluster-scoped kinds: only a cluster-wide grant counts)."""
    if g.scope != "cluster":
        return
    for kind in ("users", "groups"):
        if not _covers(g, "impersonate", "", kind):
            continue
        if names is None:
            via = f"impersonate any {kind[:-1]} ({via_role})"
            yield Edge(src, src, "k8s-impersonate-self-grant", via, path)
            continue
        for name in names if kind == "users" else ():
            if name.startswith(_SA_SUBJECT):
                ns, _, sa = name[len(_SA_SUBJECT) :].partition(":")
                target = cluster.by_name.get((ns, sa))
                if target is not None and target.id != src:
                    via = f"impersonate user {name} ({via_role})"
                    yield Edge(src, target.id, "k8s-impersonate", via, path)


def _bind_escalate(
    g: Grant,
    src: str,
    cluster: _Cluster,
    ranker: Ranker,
    write_bindings: set[str],
    write_roles: set[str],
    via_role: str,
    path: str | None,
) -> Iterator[Edge]:
    """``bind``/``escalate`` on roles plus the right to write the binding or role they need."""
    bind = any(_covers(g, "bind", _RBAC, r) for r in ("roles", "clusterroles"))
    escalate = any(_covers(g, "escalate", _RBAC, r) for r in ("roles", "clusterroles"))
    writable = (write_bindings if bind else set()) | (write_roles if escalate else set())
    if not writable:
        return
    verb = "bind" if bind else "escalate"
    what = "bindings" if bind else "roles"
    if g.scope == "cluster" and "cluster" in writable:
        via = f"{verb} on roles cluster-wide and write {what} ({via_role})"
        yield Edge(src, src, "k8s-rbac-self-grant", via, path)
        return
    # namespace power only: it can grant itself anything in these namespaces, pod creation included
    if g.scope == "cluster":
        spaces = sorted(writable - {"cluster"})
    else:
        spaces = [g.scope] if writable & {g.scope, "cluster"} else []
    for ns in spaces:
        via = f"{verb} on roles and write {what} in namespace {ns} ({via_role})"
        yield from [
            Edge(src, t.id, "k8s-rbac-escalate", via, path)
            for t in cluster.accounts(ns, ranker)
            if t.id != src
        ]


# --- federation to cloud identities ----------------------------------------------------------


def _federation(inventory: Inventory, accounts: list[Identity], paths: PathIndex) -> Iterator[Edge]:
    annotated = [
        a
        for a in accounts
        if any(k in a.attributes for k in ("aws_role_arn", "gcp_service_account", "azure_client_id"))
    ]
    if not annotated:
        return
    roles: dict[str, Identity] = {}
    azure_apps: dict[str, list[Identity]] = {}
    for identity in inventory.identities:
        if identity.provider == "aws" and identity.kind == "aws-iam-role":
            roles[identity.id] = identity
            roles.setdefault(_role_key(identity.id), identity)
        elif identity.provider == "azure" and identity.attributes.get("app_id"):
            azure_apps.setdefault(str(identity.attributes["app_id"]).lower(), []).append(identity)
    gcp = edges_gcp.index(inventory)
    for account in annotated:
        attrs = account.attributes
        ns = str(attrs.get("namespace") or "")
        subject = f"{_SA_SUBJECT}{ns}:{account.name}"
        path = paths.get(_SOURCE_KINDS, account.scope)
        arn = attrs.get("aws_role_arn")
        if arn:
            role = roles.get(str(arn)) or roles.get(_role_key(str(arn)))
            if role is not None:
                admitted = _irsa_admits(role, subject)
                if admitted is not None:
                    said, undecided = admitted
                    yield Edge(
                        account.id,
                        role.id,
                        "k8s-irsa",
                        f"eks.amazonaws.com/role-arn; trust {said}",
                        path,
                        conditional=bool(undecided),
                        condition=f"trust condition {undecided} not decided from the export"
                        if undecided
                        else "",
                    )
        email = attrs.get("gcp_service_account")
        if email:
            target = gcp.sa(str(email))
            if target is not None:
                for member, cond in gcp.workload_identity_users(target, ns, account.name):
                    yield Edge(
                        account.id,
                        target.id,
                        "k8s-gke-workload-identity",
                        f"iam.gke.io/gcp-service-account; {member} holds roles/iam.workloadIdentityUser",
                        path,
                        conditional=bool(cond),
                        condition=cond,
                    )
        client = attrs.get("azure_client_id")
        if client:
            for app in azure_apps.get(str(client).lower(), ()):
                for fic in records(app.attributes.get("federated_credentials")):
                    if fic.get("subject") == subject:
                        via = f"azure.workload.identity/client-id; federated credential {fic.get('name')} (issuer {fic.get('issuer')})"
                        yield Edge(account.id, app.id, "k8s-azure-workload-identity", via, path)
                        break


def _role_key(arn: str) -> str:
    """``arn:aws:iam::ACCOUNT:role/NAME`` without the role's path (annotations may leave it out)."""
    head, _, rest = arn.partition(":role/")
    return f"{head}:role/{rest.rsplit('/', 1)[-1]}" if rest else arn


def _like(pattern: str, value: str) -> bool:
    """IAM ``StringLike``: ``*`` any run of characters, ``?`` one character, nothing else special."""
    rx = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(rx, value, re.DOTALL) is not None


def _values(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _irsa_admits(role: Identity, subject: str) -> tuple[str, str] | None:
    """How the role's trust admits the service account's web identity, and the condition left
    undecided ("" when none), or None when it does not admit it."""
    denied = False
    allowed: tuple[str, str] | None = None
    for t in role.trusts:
        if t.principal_type != "Federated" or "oidc-provider/" not in t.principal:
            continue
        if not any(a in _WEB_IDENTITY for a in t.actions):
            continue
        verdict = _sub_verdict(t.conditions, subject)
        if verdict is None:
            continue
        said, undecided = verdict
        if t.effect == "Deny":
            denied = denied or not undecided  # a deny that may not apply does not block
        elif allowed is None or (allowed[1] and not undecided):
            allowed = (f"{t.principal.split('oidc-provider/', 1)[1]} {said}", undecided)
    return None if denied else allowed


_DECIDED = {"StringEquals", "StringLike", "StringNotEquals", "StringNotLike"}


def _sub_verdict(conditions: Mapping[str, Any], subject: str) -> tuple[str, str] | None:
    """Whether a trust statement's conditions admit ``subject`` with audience sts.amazonaws.com:
    None if they do not, else (what admits it, what is left undecided: other keys, other operators)."""
    said = "with no sub condition"
    undecided: list[str] = []
    for operator, block in conditions.items():
        op = str(operator).removesuffix("IfExists")  # the web identity always carries sub and aud
        if not isinstance(block, Mapping):
            undecided.append(str(operator))
            continue
        for key, value in block.items():
            field = str(key).rsplit(":", 1)[-1]
            if field not in ("sub", "aud") or op not in _DECIDED:
                undecided.append(f"{operator} {key}")
                continue
            wanted = subject if field == "sub" else _IRSA_AUDIENCE
            values = _values(value)
            if op == "StringEquals":
                ok = wanted in values
            elif op == "StringLike":
                ok = any(_like(v, wanted) for v in values)
            elif op == "StringNotEquals":
                ok = wanted not in values
            else:
                ok = not any(_like(v, wanted) for v in values)
            if not ok:
                return None
            if field == "sub":
                said = f"{op} sub {', '.join(values)}"
    return said, "; ".join(undecided)
