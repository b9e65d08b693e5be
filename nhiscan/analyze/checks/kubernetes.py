"""Kubernetes service-account checks: legacy token secrets, cluster-admin, permissions on `default`."""

from __future__ import annotations

from collections.abc import Iterator

from nhiscan.analyze.checks import CheckContext, Hit, check
from nhiscan.analyze.privilege import privilege_of
from nhiscan.analyze.privilege_kubernetes import is_cluster_admin
from nhiscan.model import Severity


@check("k8s_legacy_sa_token_secret")
def k8s_legacy_sa_token_secret(ctx: CheckContext) -> Iterator[Hit]:
    for ident in ctx.identities("kubernetes"):
        for cred in ident.credentials:
            if cred.kind != "k8s-sa-token":
                continue
            priv = privilege_of(ctx, ident)
            yield Hit(
                identity=ident,
                credential=cred,
                message=f"service account {ident.attributes.get('namespace')}/{ident.name} has a legacy "
                f"token Secret {cred.id} that never expires",
                evidence={"privilege": priv.level},
                severity=Severity.HIGH if priv.privileged else None,
                severity_reason=f"the service account is {priv.level}" if priv.privileged else "",
            )


@check("k8s_sa_cluster_admin")
def k8s_sa_cluster_admin(ctx: CheckContext) -> Iterator[Hit]:
    for ident in ctx.identities("kubernetes"):
        admin = [g for g in ident.grants if is_cluster_admin(g)]
        if not admin:
            continue
        vias = sorted({g.via for g in admin})
        yield Hit(
            identity=ident,
            message=f"service account {ident.attributes.get('namespace')}/{ident.name} is cluster-admin "
            f"(via {', '.join(vias)})",
            evidence={"bindings": vias},
        )


@check("k8s_default_sa_with_permissions")
def k8s_default_sa_with_permissions(ctx: CheckContext) -> Iterator[Hit]:
    for ident in ctx.identities("kubernetes"):
        if ident.name != "default" or not ident.grants:
            continue
        priv = privilege_of(ctx, ident)
        roles = sorted({g.role or "" for g in ident.grants})
        yield Hit(
            identity=ident,
            message=f"the default service account of namespace {ident.attributes.get('namespace')} is "
            f"granted {', '.join(roles)}; every pod that names no service account gets these permissions",
            evidence={"roles": roles, "privilege": priv.level, "reasons": list(priv.reasons)},
            severity=Severity.HIGH if priv.privileged else None,
            severity_reason=f"the service account is {priv.level}" if priv.privileged else "",
        )
