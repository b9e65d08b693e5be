"""Does a cluster's API server write an audit log? What the exports can tell.

- ``aws eks describe-cluster --name N`` (``cluster.logging.clusterLogging[{types, enabled}]``):
  audit logging is on when the ``audit`` type is enabled (``authenticator`` adds which IAM
  principal became which Kubernetes user).
- ``gcloud container clusters describe N --format=json``: GKE writes Kubernetes audit logs to
  Cloud Audit Logs by itself (writes always; reads with Data Access logs for ``k8s.io``).
  ``loggingConfig.componentConfig.enableComponents`` is recorded, but it governs component logs,
  not the audit log.
- the kube-apiserver pod of kube-system (in a kubectl export of pods): ``--audit-policy-file``
  and a backend (``--audit-log-path`` or ``--audit-webhook-config-file``) mean audit logging is on;
  a kube-apiserver without them writes no audit log.
- AKS diagnostic settings are read by the Azure source (``kube-audit``, ``kube-audit-admin``).

Each becomes a ``LogConfig`` of kind ``kubernetes-audit`` for its cluster, named like the
cluster's identities: by ``--input CLUSTER=FILE``, else ``(cluster unnamed)`` (its own name kept
as ``cluster_name``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nhiscan.model import LogConfig

KIND = "kubernetes-audit"
# The scope of a cluster no SCOPE names, for its identities and its audit settings alike ("default"
# would read like a namespace).
UNNAMED_CLUSTER = "(cluster unnamed)"
EKS_KIND = "kubernetes-eks-cluster"
GKE_KIND = "kubernetes-gke-cluster"


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def is_eks(data: Any) -> bool:
    cluster = data.get("cluster") if isinstance(data, Mapping) else None
    return (
        isinstance(cluster, Mapping)
        and str(cluster.get("arn") or "").startswith("arn:aws")
        and ":eks:" in str(cluster.get("arn"))
    )


def is_gke(data: Any) -> bool:
    return (
        isinstance(data, Mapping)
        and "/clusters/" in str(data.get("selfLink") or "")
        and "container.googleapis.com" in str(data.get("selfLink"))
    )


def is_apiserver(item: Any) -> bool:
    if not isinstance(item, Mapping) or item.get("kind") != "Pod":
        return False
    md = _mapping(item.get("metadata"))
    labels = _mapping(md.get("labels"))
    return labels.get("component") == "kube-apiserver" or str(md.get("name") or "").startswith(
        "kube-apiserver"
    )


def eks(data: Mapping[str, Any], scope: str | None, path: str) -> LogConfig:
    cluster = data["cluster"]
    enabled: set[str] = set()
    logging = _mapping(cluster.get("logging"))
    listed = logging.get("clusterLogging")
    entries: list[Any] = listed if isinstance(listed, list) else []
    for i, entry in enumerate(entries):
        types = entry.get("types") if isinstance(entry, Mapping) else None
        if not isinstance(types, list) or not isinstance(entry.get("enabled"), (bool, type(None))):
            raise ValueError(f"cluster.logging.clusterLogging[{i}]: expected types (a list) and enabled")
        if entry.get("enabled") is True:
            enabled.update(str(t) for t in types)
    audit = "audit" in enabled
    attrs: dict[str, Any] = {"source": "eks", "audit": audit, "enabled_types": sorted(enabled)}
    if not audit:
        attrs["why"] = "the EKS control plane log type audit is not enabled"
    elif "authenticator" not in enabled:
        attrs["notes"] = ["which IAM principal became which Kubernetes user (authenticator log)"]
    attrs["cluster_name"] = cluster.get("name")
    return LogConfig("kubernetes", KIND, scope or UNNAMED_CLUSTER, attrs, path)


def gke(data: Mapping[str, Any], scope: str | None, path: str) -> LogConfig:
    components: list[str] = []
    cfg = data.get("loggingConfig")
    if isinstance(cfg, Mapping) and isinstance(cfg.get("componentConfig"), Mapping):
        components = [str(c) for c in cfg["componentConfig"].get("enableComponents") or ()]
    attrs = {
        "source": "gke",
        "audit": True,
        "self_link": str(data.get("selfLink") or ""),
        "enabled_components": components,
        "cluster_name": data.get("name"),
    }
    return LogConfig("kubernetes", KIND, scope or UNNAMED_CLUSTER, attrs, path)


def _flags(pod: Mapping[str, Any]) -> list[str]:
    spec = _mapping(pod.get("spec"))
    out: list[str] = []
    for container in spec.get("containers") or ():
        if isinstance(container, Mapping):
            for key in ("command", "args"):
                value = container.get(key)
                if isinstance(value, list):
                    out.extend(x for x in value if isinstance(x, str))
    return out


def apiserver(pod: Mapping[str, Any], cluster: str, path: str) -> LogConfig:
    flags = {f.split("=", 1)[0]: (f.split("=", 1)[1] if "=" in f else "") for f in _flags(pod)}
    policy = bool(flags.get("--audit-policy-file"))
    backend = [b for b in ("--audit-log-path", "--audit-webhook-config-file") if flags.get(b)]
    audit = policy and bool(backend)
    attrs: dict[str, Any] = {"source": "kube-apiserver", "audit": audit, "audit_backends": backend}
    if not audit:
        attrs["why"] = (
            "kube-apiserver runs without --audit-policy-file"
            if not policy
            else "kube-apiserver has an audit policy but no --audit-log-path or --audit-webhook-config-file"
        )
    return LogConfig("kubernetes", KIND, cluster, attrs, path)
