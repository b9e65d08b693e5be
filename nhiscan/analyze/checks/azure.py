"""Azure service-principal checks: secret lifetime, expired credentials, privileged roles, third parties."""

from __future__ import annotations

from collections.abc import Iterator

from nhiscan.analyze.checks import CheckContext, Hit, check
from nhiscan.analyze.privilege import privilege_of
from nhiscan.model import Identity, Severity

_APP_CREDENTIALS = ("azure-client-secret", "azure-certificate")


@check("azure_secret_long_lived")
def azure_secret_long_lived(ctx: CheckContext) -> Iterator[Hit]:
    max_days = float(ctx.params.get("max_lifetime_days", 365))
    for ident in ctx.identities("azure"):
        for cred in ident.credentials:
            if cred.kind != "azure-client-secret":
                continue
            if cred.expires is not None and cred.expires <= ctx.as_of:
                continue  # expired: azure-credential-expired-still-present
            if cred.created is None or cred.expires is None:
                lifetime = None
            else:
                lifetime = (cred.expires - cred.created).total_seconds() / 86400.0
                if lifetime <= max_days:
                    continue
            shown = "no end date" if lifetime is None else f"valid for {int(lifetime)} days"
            yield Hit(
                identity=ident,
                credential=cred,
                message=f"client secret {cred.id} of {ident.name} is {shown} (limit {int(max_days)})",
                evidence={"lifetime_days": None if lifetime is None else int(lifetime)},
            )


@check("azure_credential_expired_still_present")
def azure_credential_expired_still_present(ctx: CheckContext) -> Iterator[Hit]:
    for ident in ctx.identities("azure"):
        for cred in ident.credentials:
            if cred.kind not in _APP_CREDENTIALS or cred.expires is None or cred.expires > ctx.as_of:
                continue
            days = int((ctx.as_of - cred.expires).total_seconds() // 86400)
            what = "client secret" if cred.kind == "azure-client-secret" else "certificate"
            yield Hit(
                identity=ident,
                credential=cred,
                message=f"{what} {cred.id} of {ident.name} expired {days} days ago and is still registered",
                evidence={"expired_days": days},
            )


@check("azure_sp_privileged_role")
def azure_sp_privileged_role(ctx: CheckContext) -> Iterator[Hit]:
    for ident in ctx.identities("azure"):
        if ident.attributes.get("microsoft_first_party"):
            continue
        priv = privilege_of(ctx, ident)
        if not priv.privileged:
            continue
        yield Hit(
            identity=ident,
            message=f"{ident.kind} {ident.name} holds {'; '.join(priv.reasons[:3])}",
            evidence={"privilege": priv.level, "reasons": list(priv.reasons)},
        )


@check("azure_third_party_app_privileged")
def azure_third_party_app_privileged(ctx: CheckContext) -> Iterator[Hit]:
    for ident in ctx.identities("azure"):
        if not ident.attributes.get("third_party"):
            continue
        priv = privilege_of(ctx, ident)
        if not priv.privileged:
            continue
        yield Hit(
            identity=ident,
            message=f"third-party application {ident.name} ({_publisher(ident)}) holds "
            f"{'; '.join(priv.reasons[:3])}",
            evidence={
                "privilege": priv.level,
                "reasons": list(priv.reasons),
                "verified_publisher": ident.attributes.get("verified_publisher"),
            },
            severity=Severity.CRITICAL if priv.level == "admin" else None,
            severity_reason="the application is admin-equivalent" if priv.level == "admin" else "",
        )


def _publisher(ident: Identity) -> str:
    tenant = ident.attributes.get("app_owner_organization_id")
    verified = ident.attributes.get("verified_publisher")
    if verified:
        return f"verified publisher {verified}, tenant {tenant}"
    named = ident.attributes.get("publisher_name")
    return f"unverified publisher{' ' + str(named) if named else ''}, tenant {tenant}"


@check("azure_third_party_app")
def azure_third_party_app(ctx: CheckContext) -> Iterator[Hit]:
    """Every multi-tenant application of another organization that holds roles here; privileged
    ones are azure-third-party-app-privileged's."""
    for ident in ctx.identities("azure"):
        if not ident.attributes.get("third_party") or not ident.grants:
            continue
        if privilege_of(ctx, ident).privileged:
            continue
        roles = sorted({f"{g.role} on {g.scope}" for g in ident.grants})
        verified = ident.attributes.get("verified_publisher")
        yield Hit(
            identity=ident,
            message=f"third-party application {ident.name} ({_publisher(ident)}) holds "
            + "; ".join(roles[:3])
            + (" …" if len(roles) > 3 else ""),
            severity=Severity.INFO if verified else None,
            evidence={
                "app_owner_organization_id": ident.attributes.get("app_owner_organization_id"),
                "verified_publisher": verified,
                "roles": roles,
            },
        )


@check("azure_app_secret_without_federation")
def azure_app_secret_without_federation(ctx: CheckContext) -> Iterator[Hit]:
    for ident in ctx.identities("azure"):
        federated = ident.attributes.get("federated_credentials")
        if federated is None or federated or ident.attributes.get("third_party"):
            continue  # not exported (unknown), or federation in place, or a vendor's app
        secrets = [
            c
            for c in ident.credentials
            if c.kind == "azure-client-secret" and (c.expires is None or c.expires > ctx.as_of)
        ]
        if not secrets:
            continue
        yield Hit(
            identity=ident,
            message=f"application {ident.name} authenticates with {len(secrets)} client secret(s) "
            f"({', '.join(c.id for c in secrets[:3])}) and has no federated identity credential",
            evidence={"client_secrets": [c.id for c in secrets], "federated_credentials": 0},
        )
