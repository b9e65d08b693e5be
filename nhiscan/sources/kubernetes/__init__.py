"""Kubernetes: service accounts, the RBAC rules bound to them, and their legacy token Secrets.

Identity ids are ``k8s:<cluster>:<namespace>/<name>``, where <cluster> is the SCOPE given with
``--input SCOPE=FILE`` (the kube context or cluster name) or ``default``. Grants are the rules of
the Role/ClusterRole each (Cluster)RoleBinding references, one Grant per rule: ``actions`` are the
verbs, ``resources`` the resources (``group/resource``, core group bare, subresources kept as
``pods/exec``), ``scope`` the namespace or ``cluster``, ``role`` ``ClusterRole/NAME`` or
``Role/NS/NAME``; ``resourceNames`` restrictions go into ``condition``. Bindings to the groups
``system:serviceaccounts`` and ``system:serviceaccounts:<ns>`` apply to every matching account.
Roles missing from the export are resolved for the built-in ClusterRoles (cluster-admin, admin,
edit, view) and otherwise kept as a role with no known rules.

Legacy token Secrets (``kubernetes.io/service-account-token``) become credentials
(``k8s-sa-token``, never expiring); the token value is never read. Cloud federation annotations
are copied into attributes (``aws_role_arn``, ``gcp_service_account``, ``azure_client_id``) so a
cloud identity serving several workloads can be found.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from nhiscan.config import Settings
from nhiscan.model import Credential, Grant, Identity, SourceError, SourceRef
from nhiscan.sources.documents import ProviderResult, RawDocument
from nhiscan.sources.kubernetes import audit
from nhiscan.sources.shape import TIME, check, describe
from nhiscan.sources.timeparse import parse_time

PROVIDER = "kubernetes"
DEFAULT_CLUSTER = "default"
# The scope shown for identities of exports that name no cluster: "default" would read like a
# namespace. Their ids keep DEFAULT_CLUSTER, so fingerprints, baselines and waivers stay valid.
UNNAMED_CLUSTER = audit.UNNAMED_CLUSTER

FEDERATION_ANNOTATIONS: Mapping[str, str] = {
    "eks.amazonaws.com/role-arn": "aws_role_arn",
    "iam.gke.io/gcp-service-account": "gcp_service_account",
    "azure.workload.identity/client-id": "azure_client_id",
    "azure.workload.identity/tenant-id": "azure_tenant_id",
}

_Rule = dict[str, Any]
_ALL_VERBS = ["get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"]
# Built-in ClusterRoles, summarised (the parts that matter for privilege), used when an export
# binds to them without including their definitions.
BUILTIN_CLUSTER_ROLES: Mapping[str, list[_Rule]] = {
    "cluster-admin": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}],
    "admin": [
        {
            "apiGroups": [""],
            "resources": ["pods", "pods/exec", "pods/attach", "secrets", "serviceaccounts/token"],
            "verbs": _ALL_VERBS,
        },
        {
            "apiGroups": ["rbac.authorization.k8s.io"],
            "resources": ["roles", "rolebindings"],
            "verbs": _ALL_VERBS,
        },
        {
            "apiGroups": ["apps"],
            "resources": ["deployments", "daemonsets", "statefulsets"],
            "verbs": _ALL_VERBS,
        },
    ],
    "edit": [
        {
            "apiGroups": [""],
            "resources": ["pods", "pods/exec", "pods/attach", "secrets", "serviceaccounts/token"],
            "verbs": _ALL_VERBS,
        },
        {
            "apiGroups": ["apps"],
            "resources": ["deployments", "daemonsets", "statefulsets"],
            "verbs": _ALL_VERBS,
        },
    ],
    "view": [
        {
            "apiGroups": ["", "apps"],
            "resources": ["pods", "services", "configmaps", "deployments"],
            "verbs": ["get", "list", "watch"],
        },
    ],
}


# What each object must look like (missing or null fields are fine; see nhiscan.sources.shape).
_SCALAR = (str, int, float, bool)
_META = {
    "name": str,
    "namespace": str,
    "creationTimestamp": TIME,
    "annotations": {"*": _SCALAR},
    "labels": {"*": _SCALAR},
}
_SHAPES: Mapping[str, dict[str, Any]] = {
    "ServiceAccount": {"metadata": _META, "automountServiceAccountToken": bool},
    "Role": {
        "metadata": _META,
        "rules": [{"apiGroups": [str], "resources": [str], "verbs": [str], "resourceNames": [str]}],
    },
    "RoleBinding": {
        "metadata": _META,
        "roleRef": {"kind": str, "name": str},
        "subjects": [{"kind": str, "name": str, "namespace": str}],
    },
    "Secret": {"metadata": _META, "type": str},
}


@dataclass
class _Objects:
    service_accounts: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    roles: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)  # (ns or "", name)
    bindings: list[dict[str, Any]] = field(default_factory=list)
    secrets: list[dict[str, Any]] = field(default_factory=list)


def _items(data: Any, where: str = "") -> Iterator[tuple[str, Any]]:
    """(position, object) of every object in an export: a single object, a ``List`` or a typed
    ``<Kind>List``, and Lists nested in a List (each position names its index path). Non-object
    items are yielded too, so the caller reports them instead of losing them quietly."""
    if isinstance(data, dict) and isinstance(data.get("items"), list):
        list_kind = str(data.get("kind", ""))
        for i, item in enumerate(data["items"]):
            at = f"{where}items[{i}]"
            if isinstance(item, dict):
                if "kind" not in item and list_kind.endswith("List") and list_kind != "List":
                    item = {**item, "kind": list_kind[: -len("List")]}  # kubectl omits it in typed lists
                if str(item.get("kind", "")).endswith("List") and isinstance(item.get("items"), list):
                    yield from _items(item, f"{at}.")
                    continue
            yield at, item
    else:
        yield where or "object", data


def _meta(obj: Mapping[str, Any]) -> tuple[str, str]:
    md = obj.get("metadata") or {}
    return str(md.get("namespace") or ""), str(md.get("name") or "")


def _resource(group: str, resource: str) -> str:
    return resource if group in ("", "core") else f"{group}/{resource}"


def _grants(rules: Iterable[Mapping[str, Any]], role: str, scope: str, via: str) -> list[Grant]:
    out = []
    for rule in rules:
        resources = tuple(
            _resource(str(g), str(r))
            for g in rule.get("apiGroups") or [""]
            for r in rule.get("resources") or ()
        )
        if not resources:
            continue  # nonResourceURLs rules: /healthz, /metrics
        names = rule.get("resourceNames")
        out.append(
            Grant(
                actions=tuple(str(v) for v in rule.get("verbs") or ()),
                resources=resources,
                scope=scope,
                via=via,
                role=role,
                condition={"resourceNames": list(names)} if names else None,
            )
        )
    return out


def normalize(docs: Sequence[RawDocument], settings: Settings) -> ProviderResult:
    result = ProviderResult()
    clusters: dict[str, _Objects] = {}
    named = {doc.scope for doc in docs if doc.scope}
    for doc in docs:
        if doc.kind in (audit.EKS_KIND, audit.GKE_KIND):
            read = audit.eks if doc.kind == audit.EKS_KIND else audit.gke
            try:
                result.logging.append(read(doc.data, doc.scope, doc.path))
            except ValueError as exc:
                result.errors.append(SourceError(doc.path, f"{exc}; not read"))
                continue
            except (TypeError, KeyError, AttributeError) as exc:
                result.errors.append(
                    SourceError(doc.path, f"cannot read {doc.kind} export ({type(exc).__name__})")
                )
                continue
            result.sources.append(SourceRef(doc.kind, doc.scope, doc.path))
            continue
        cluster = doc.scope or DEFAULT_CLUSTER
        shown = cluster if cluster in named else UNNAMED_CLUSTER
        objs = clusters.setdefault(cluster, _Objects())
        for where, item in _items(doc.data):
            if audit.is_apiserver(item):
                result.logging.append(audit.apiserver(item, shown, doc.path))
                continue
            try:
                _add(objs, item)
            except ValueError as exc:
                result.errors.append(SourceError(doc.path, f"{where}{_what(item)}: {exc}; skipped"))
        result.sources.append(SourceRef(doc.kind, shown, doc.path))
    for cluster, objs in clusters.items():
        result.identities.extend(_identities(cluster, objs, cluster if cluster in named else UNNAMED_CLUSTER))
    return result


def _add(objs: _Objects, item: Any) -> None:
    """File one exported object under its kind; ValueError (naming the field) when it is unreadable."""
    if not isinstance(item, dict):
        raise ValueError(f"expected an object, got {describe(item)}")
    kind = item.get("kind")
    if not isinstance(kind, str) or not kind:
        raise ValueError("object without kind")
    check(item, _SHAPES.get(kind.replace("Cluster", "", 1), {"metadata": _META}))
    ns, name = _meta(item)
    if kind == "ServiceAccount":
        objs.service_accounts[(ns, name)] = item
    elif kind in ("Role", "ClusterRole"):
        objs.roles[(ns if kind == "Role" else "", name)] = item
    elif kind in ("RoleBinding", "ClusterRoleBinding"):
        objs.bindings.append(item)
    elif kind == "Secret" and item.get("type") == "kubernetes.io/service-account-token":
        # Keep only what identifies the secret: never its data.
        objs.secrets.append({"metadata": item.get("metadata") or {}})


def _what(item: Any) -> str:
    """`` (Kind name)`` of an object for an error message, as far as it can be told."""
    if not isinstance(item, dict):
        return ""
    kind = item.get("kind") if isinstance(item.get("kind"), str) else ""
    md = item.get("metadata")
    name = md.get("name") if isinstance(md, dict) else None
    text = f"{kind} {name[:120] if isinstance(name, str) else ''}".strip()
    return f" ({text})" if text else ""


def _identities(cluster: str, objs: _Objects, cluster_scope: str) -> list[Identity]:
    grants: dict[tuple[str, str], list[Grant]] = {}
    group_grants: dict[str, list[Grant]] = {}  # "" = all service accounts, else one namespace
    for binding in objs.bindings:
        b_ns, b_name = _meta(binding)
        ref = binding.get("roleRef") or {}
        ref_kind, ref_name = str(ref.get("kind", "")), str(ref.get("name", ""))
        if ref_kind == "Role":
            role_obj = objs.roles.get((b_ns, ref_name))
            role_label = f"Role/{b_ns}/{ref_name}"
        else:
            role_obj = objs.roles.get(("", ref_name))
            role_label = f"ClusterRole/{ref_name}"
        if role_obj is not None:
            rules = role_obj.get("rules") or []
        else:
            rules = BUILTIN_CLUSTER_ROLES.get(ref_name, []) if ref_kind == "ClusterRole" else []
        scope = b_ns if binding.get("kind") == "RoleBinding" else "cluster"
        via = f"{binding.get('kind')}/{b_ns + '/' if b_ns else ''}{b_name}"
        bound = _grants(rules, role_label, scope, via) or [
            Grant(actions=(), resources=(), scope=scope, via=via, role=role_label)
        ]
        for subject in binding.get("subjects") or ():
            s_kind, s_name = subject.get("kind"), str(subject.get("name") or "")
            if s_kind == "ServiceAccount":
                key = (str(subject.get("namespace") or b_ns), s_name)
                grants.setdefault(key, []).extend(bound)
            elif s_kind == "Group" and s_name == "system:serviceaccounts":
                group_grants.setdefault("", []).extend(bound)
            elif s_kind == "Group" and s_name.startswith("system:serviceaccounts:"):
                group_grants.setdefault(s_name.split(":", 2)[2], []).extend(bound)

    tokens: dict[tuple[str, str], list[Credential]] = {}
    for secret in objs.secrets:
        md = secret["metadata"]
        annotations = md.get("annotations") or {}
        sa_name = annotations.get("kubernetes.io/service-account.name")
        if not sa_name:
            continue
        ns = str(md.get("namespace") or "")
        tokens.setdefault((ns, str(sa_name)), []).append(
            Credential(
                id=f"{ns}/{md.get('name')}",
                kind="k8s-sa-token",
                created=parse_time(md.get("creationTimestamp")),
                attributes={"secret": md.get("name"), "namespace": ns, "legacy_token_secret": True},
            )
        )

    keys = set(objs.service_accounts) | set(grants) | set(tokens)
    out = []
    for ns, name in sorted(keys):
        sa = objs.service_accounts.get((ns, name))
        md = (sa or {}).get("metadata") or {}
        annotations = {str(k): str(v) for k, v in (md.get("annotations") or {}).items()}
        labels = {str(k): str(v) for k, v in (md.get("labels") or {}).items()}
        attributes: dict[str, Any] = {
            "namespace": ns,
            "cluster": cluster,
            "in_export": sa is not None,
            "automount_token": (sa or {}).get("automountServiceAccountToken", True),
        }
        for annotation, attr in FEDERATION_ANNOTATIONS.items():
            if annotations.get(annotation):
                attributes[attr] = annotations[annotation]
        if ns.startswith("kube-"):
            attributes["system_namespace"] = True
        if name == "default":
            # Created by Kubernetes in every namespace; its permissions are reported by
            # k8s-default-sa-with-permissions, not as an unowned identity.
            attributes["managed_by_provider"] = True
        owner = next((labels[k] for k in ("owner", "team") if labels.get(k)), None)
        all_grants = grants.get((ns, name), []) + group_grants.get("", []) + group_grants.get(ns, [])
        out.append(
            Identity(
                id=f"k8s:{cluster}:{ns}/{name}",
                provider=PROVIDER,
                kind="kubernetes-service-account",
                name=name,
                scope=cluster_scope,
                owner=owner,
                created=parse_time(md.get("creationTimestamp")),
                tags=labels,
                credentials=tuple(sorted(tokens.get((ns, name), []), key=lambda c: c.id)),
                grants=tuple(_unique(all_grants)),
                attributes=attributes,
            )
        )
    return out


def _unique(grants: Iterable[Grant]) -> list[Grant]:
    out: list[Grant] = []
    for g in grants:
        if g not in out:  # Grants hold dicts (conditions), so compare rather than hash
            out.append(g)
    return out
