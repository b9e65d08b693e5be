"""AWS trust-policy checks: who may assume each role (OIDC subjects, other accounts, third
parties, wildcard principals) and how long the sessions it hands out last. Trust rules apply to
every role: a trust policy is the door, whoever walks through it."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from nhiscan.analyze import vendors
from nhiscan.analyze.checks import LOWER, RAISE, CheckContext, Hit, check
from nhiscan.analyze.privilege import privilege_of
from nhiscan.model import Identity, Severity, Trust

# --- trust policies -----------------------------------------------------------------------------

_POSITIVE_OPS = re.compile(r"^(for(any|all)value:)?string(equals|like)(ignorecase)?(ifexists)?$", re.I)


def _condition_values(conditions: Mapping[str, Any], key_suffix: str) -> list[str] | None:
    """Values that positive string conditions require for keys ending in ``key_suffix`` (None: none)."""
    found: list[str] | None = None
    for op, body in conditions.items():
        if not _POSITIVE_OPS.match(str(op)) or not isinstance(body, Mapping):
            continue
        for key, value in body.items():
            if str(key).lower().endswith(key_suffix.lower()):
                found = (found or []) + [str(v) for v in (value if isinstance(value, list) else [value])]
    return found


def _has_condition_key(conditions: Mapping[str, Any], keys: tuple[str, ...]) -> bool:
    wanted = {k.lower() for k in keys}
    for body in conditions.values():
        if isinstance(body, Mapping) and any(str(k).lower() in wanted for k in body):
            return True
    return False


def _allows_assume(t: Trust) -> bool:
    return t.effect.lower() == "allow" and (
        not t.actions or any(a.lower().startswith("sts:assumerole") or a == "*" for a in t.actions)
    )


def _roles(ctx: CheckContext) -> Iterator[Identity]:
    for ident in ctx.identities("aws"):
        if ident.kind == "aws-iam-role" and not ident.attributes.get("service_linked"):
            yield ident


_GITHUB = "token.actions.githubusercontent.com"


def _oidc_host(principal: str) -> str | None:
    if ":oidc-provider/" in principal:
        return principal.split(":oidc-provider/", 1)[1]
    if principal.startswith("arn:") and ":saml-provider/" in principal:
        return None
    if "." in principal and not principal.startswith("arn:"):
        return principal  # e.g. cognito-identity.amazonaws.com, accounts.google.com
    return None


def _wildcard_sub(value: str, host: str) -> bool:
    v = value.strip()
    if v in ("*", "?*", "*:*"):
        return True
    if host.startswith(_GITHUB):
        # repo:OWNER/REPO:...: the owner must be literal
        m = re.match(r"^repo:([^/:]*)", v)
        if v.startswith("repo:") and (m is None or not m.group(1) or any(ch in m.group(1) for ch in "*?")):
            return True
        if not v.startswith("repo:") and v.split(":", 1)[0] in ("*", ""):
            return True
    return False


@check("aws_oidc_trust_without_sub")
def aws_oidc_trust_without_sub(ctx: CheckContext) -> Iterator[Hit]:
    for ident in _roles(ctx):
        for t in ident.trusts:
            if t.principal_type != "Federated" or not _allows_assume(t):
                continue
            host = _oidc_host(t.principal)
            if host is None:
                continue
            claim = ":aud" if host.startswith("cognito-identity.amazonaws.com") else ":sub"
            values = _condition_values(t.conditions, host.split("/")[0] + claim)
            if values is None:
                values = _condition_values(t.conditions, claim)
            if values is None:
                problem = f"no `{claim[1:]}` condition"
            else:
                wild = [v for v in values if _wildcard_sub(v, host)]
                if not wild:
                    continue
                problem = f"a wildcard-only `{claim[1:]}` condition ({', '.join(wild)})"
            who = "any GitHub repository" if host.startswith(_GITHUB) else f"any identity of {host}"
            yield Hit(
                identity=ident,
                message=f"role {ident.name} trusts the OIDC provider {host} with {problem}: {who} can assume it",
                evidence={"provider": t.principal, "conditions": dict(t.conditions)},
                key=t.principal,
            )


_ORG_KEYS = (
    "aws:PrincipalOrgID",
    "aws:PrincipalOrgPaths",
    "aws:PrincipalAccount",
    "aws:SourceAccount",
    "aws:SourceOrgID",
    "aws:SourceArn",
    "aws:PrincipalArn",
    "aws:userid",
)


def _principal_account(principal: str) -> str | None:
    if re.fullmatch(r"\d{12}", principal):
        return principal
    m = re.match(r"^arn:aws[\w-]*:(?:iam|sts)::(\d{12}):", principal)
    return m.group(1) if m else None


def _scanned_accounts(ctx: CheckContext) -> frozenset[str]:
    """The accounts of the estate: every account the inventory holds identities of."""
    return ctx.cached(
        "aws_scanned_accounts",
        lambda: frozenset(i.scope for i in ctx.inventory.identities if i.provider == "aws" and i.scope),
    )


def _vendor_list(ctx: CheckContext) -> vendors.VendorList:
    return ctx.cached("aws_known_vendors", lambda: vendors.load(ctx.settings))


@dataclass(frozen=True)
class _Outside:
    account: str
    vendor: str | None


def _outside(ctx: CheckContext, ident: Identity, t: Trust, own: frozenset[str]) -> _Outside | None:
    """The trusted account when it is outside the scanned set and the accounts named as one's own
    (and the statement has no organization condition tying it to one's own organization)."""
    other = _principal_account(t.principal)
    if other is None or other == ident.scope or other in own or other in _scanned_accounts(ctx):
        return None
    if _has_condition_key(t.conditions, _ORG_KEYS):
        return None
    return _Outside(other, _vendor_list(ctx).name_of(other))


def _party(out: _Outside) -> str:
    return f"{out.vendor} ({out.account})" if out.vendor else f"unknown account {out.account}"


_XACCT_RULE = "aws-cross-account-trust-without-external-id"


def _own_accounts(ctx: CheckContext) -> frozenset[str]:
    """aws-third-party-access's own_accounts (set in the settings): the other accounts of the estate."""
    configured = ctx.settings.params.get("aws-third-party-access", {}).get("own_accounts") or []
    return frozenset(str(a) for a in configured)


@check("aws_cross_account_trust_without_external_id")
def aws_cross_account_trust_without_external_id(ctx: CheckContext) -> Iterator[Hit]:
    """Trusts without an external id. One outside the scanned accounts is third-party access too
    (NHI3): named from the known-vendor list, and raised one step when the account is unknown."""
    trusted = frozenset(str(a) for a in ctx.params.get("trusted_accounts", []))
    for ident in _roles(ctx):
        for t in ident.trusts:
            if t.principal_type != "AWS" or not _allows_assume(t):
                continue
            other = _principal_account(t.principal)
            if other is None or other == ident.scope or other in trusted:
                continue
            if _has_condition_key(t.conditions, ("sts:ExternalId", *_ORG_KEYS)):
                continue
            priv = privilege_of(ctx, ident)
            outside = _outside(ctx, ident, t, trusted | _own_accounts(ctx))
            severity = ctx.rule.severity
            if outside is not None and outside.vendor is None:
                severity = RAISE[severity]
            if priv.privileged:
                severity = RAISE[severity]
            who = f"account {other}" if outside is None else f"the third party {_party(outside)}"
            yield Hit(
                identity=ident,
                severity=None if severity == ctx.rule.severity else severity,
                severity_reason="; ".join(
                    r
                    for r in (
                        "the trusted account is no known vendor"
                        if outside is not None and outside.vendor is None
                        else "",
                        f"the role is {priv.level}" if priv.privileged else "",
                    )
                    if r
                ),
                owasp_extra=("NHI3:2025",) if outside is not None else (),
                message=(
                    f"role {ident.name} trusts {who}"
                    + (f" ({t.principal})" if t.principal != other else "")
                    + " without an sts:ExternalId "
                    "or organization condition" + (f"; the role is {priv.level}" if priv.privileged else "")
                ),
                evidence={
                    "principal": t.principal,
                    "account": other,
                    "privilege": priv.level,
                    "third_party": outside is not None,
                    "vendor": outside.vendor if outside else None,
                },
                key=t.principal,
            )


@check("aws_third_party_access")
def aws_third_party_access(ctx: CheckContext) -> Iterator[Hit]:
    """Roles that accounts outside the scanned set may assume with an external id: the inventory of
    third-party access, named from the known-vendor list. A known vendor is informational, an
    unknown account low, raised when the role is privileged. Trusts without an external id are
    aws-cross-account-trust-without-external-id's (it lists NHI3 for them): one finding per trust."""
    own = frozenset(str(a) for a in ctx.params.get("own_accounts", []))
    own |= frozenset(str(a) for a in ctx.settings.params.get(_XACCT_RULE, {}).get("trusted_accounts") or [])
    for ident in _roles(ctx):
        for t in ident.trusts:
            if t.principal_type != "AWS" or not _allows_assume(t):
                continue
            outside = _outside(ctx, ident, t, own)
            if outside is None or not _has_condition_key(t.conditions, ("sts:ExternalId",)):
                continue
            priv = privilege_of(ctx, ident)
            severity = Severity.INFO if outside.vendor else Severity.LOW
            if priv.privileged:
                severity = RAISE[severity]
            yield Hit(
                identity=ident,
                severity=severity,
                message=(
                    f"role {ident.name} gives {_party(outside)} access, guarded by an sts:ExternalId"
                    + (f"; the role is {priv.level}" if priv.privileged else "")
                ),
                evidence={
                    "principal": t.principal,
                    "account": outside.account,
                    "vendor": outside.vendor,
                    "external_id": True,
                    "privilege": priv.level,
                },
                key=t.principal,
            )


@check("aws_trust_wildcard_principal")
def aws_trust_wildcard_principal(ctx: CheckContext) -> Iterator[Hit]:
    for ident in _roles(ctx):
        for t in ident.trusts:
            if not _allows_assume(t):
                continue
            wild = t.principal_type == "*" or (
                t.principal_type == "AWS" and t.principal in ("*", "arn:aws:iam::*:root")
            )
            if not wild:
                continue
            if _has_condition_key(t.conditions, _ORG_KEYS):
                continue
            ext = _has_condition_key(t.conditions, ("sts:ExternalId",))
            yield Hit(
                identity=ident,
                severity=LOWER[ctx.rule.severity] if ext else None,
                message=(
                    f"role {ident.name} trusts every AWS principal (`*`)"
                    + (
                        " guarded only by an external id"
                        if ext
                        else " with no account or organization condition"
                    )
                ),
                evidence={"principal": t.principal, "conditions": dict(t.conditions)},
                key=t.principal,
            )


@check("aws_role_long_session")
def aws_role_long_session(ctx: CheckContext) -> Iterator[Hit]:
    """Workload roles whose MaxSessionDuration (from list-roles / get-role) passes the limit."""
    limit = int(ctx.params.get("max_session_hours", 1)) * 3600
    for ident in _roles(ctx):
        if not ident.nonhuman or ident.attributes.get("managed_by_provider"):
            continue
        seconds = ident.attributes.get("max_session_duration")
        if not isinstance(seconds, int) or seconds <= limit:
            continue
        callers = sorted({t.principal_type for t in ident.trusts if _allows_assume(t)})
        if not callers:
            continue  # nobody may assume it: no sessions at all
        yield Hit(
            identity=ident,
            message=(
                f"role {ident.name} hands out sessions of up to {seconds / 3600:g} hours "
                f"(limit {limit // 3600}); assumed by {', '.join(callers)} principals"
            ),
            evidence={"max_session_seconds": seconds, "limit_seconds": limit, "trusted": callers},
        )
