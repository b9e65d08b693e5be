"""AWS IAM checks: credential lifecycle, privilege, trust policies.

Who is checked: credential-age rules apply to every IAM user's keys (a person's old key is a risk
too) but a human user's finding is one severity step lower, since the NHI Top 10 is about machine
identities and a person's key is usually covered by other controls; root keys have their own rule.
Privilege rules apply to non-human identities only (humans with admin rights are a different
program), never to AWS-managed service-linked roles. Trust rules apply to every role (a trust
policy is the door, whoever walks through it). All ages use ``ctx.as_of``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from nhiscan.analyze import vendors
from nhiscan.analyze.checks import CheckContext, Hit, check
from nhiscan.analyze.privilege import privilege_of
from nhiscan.analyze.privilege_aws import escalation_paths
from nhiscan.model import Credential, Identity, Severity, Trust

_LOWER = {
    Severity.CRITICAL: Severity.HIGH,
    Severity.HIGH: Severity.MEDIUM,
    Severity.MEDIUM: Severity.LOW,
    Severity.LOW: Severity.LOW,
    Severity.INFO: Severity.INFO,
}
_RAISE = {
    Severity.INFO: Severity.LOW,
    Severity.LOW: Severity.MEDIUM,
    Severity.MEDIUM: Severity.HIGH,
    Severity.HIGH: Severity.CRITICAL,
    Severity.CRITICAL: Severity.CRITICAL,
}


def _severity_for(ctx: CheckContext, ident: Identity) -> Severity | None:
    return None if ident.nonhuman else _LOWER[ctx.rule.severity]


def _users(ctx: CheckContext) -> Iterator[Identity]:
    for ident in ctx.identities("aws"):
        if ident.kind == "aws-iam-user":
            yield ident


def _active_keys(ident: Identity) -> list[Credential]:
    return [c for c in ident.credentials if c.kind == "aws-access-key" and c.active]


def _fmt_days(days: float) -> str:
    return f"{int(days)} days"


@check("aws_access_key_too_old")
def aws_access_key_too_old(ctx: CheckContext) -> Iterator[Hit]:
    limit = float(ctx.params.get("max_age_days", 90))
    for ident in _users(ctx):
        for cred in _active_keys(ident):
            age = ctx.days_since(cred.created)
            if age is None or age <= limit:
                continue
            yield Hit(
                identity=ident,
                credential=cred,
                severity=_severity_for(ctx, ident),
                message=f"access key {cred.id} of {ident.name} is {_fmt_days(age)} old (limit {int(limit)})",
                evidence={"age_days": int(age), "max_age_days": int(limit), "created": _iso(cred.created)},
            )


@check("aws_credential_unused")
def aws_credential_unused(ctx: CheckContext) -> Iterator[Hit]:
    limit = float(ctx.params.get("unused_days", 90))
    for ident in ctx.identities("aws"):
        if ident.kind == "aws-iam-user":
            for cred in _active_keys(ident):
                idle = ctx.days_since(cred.last_used)
                if idle is None or idle <= limit:
                    continue
                yield Hit(
                    identity=ident,
                    credential=cred,
                    severity=_severity_for(ctx, ident),
                    message=f"access key {cred.id} of {ident.name} was last used {_fmt_days(idle)} ago",
                    evidence={
                        "idle_days": int(idle),
                        "unused_days": int(limit),
                        "last_used": _iso(cred.last_used),
                    },
                )
        elif (
            ident.kind == "aws-iam-role"
            and ident.nonhuman
            and not ident.attributes.get("managed_by_provider")
        ):
            idle = ctx.days_since(ident.last_used)
            age = ctx.days_since(ident.created)
            if idle is not None and idle > limit:
                msg = f"role {ident.name} was last used {_fmt_days(idle)} ago"
            elif (
                idle is None and ident.attributes.get("last_used_tracked") and age is not None and age > limit
            ):
                msg = f"role {ident.name} was created {_fmt_days(age)} ago and has no recorded use"
            else:
                continue
            yield Hit(
                identity=ident,
                message=msg,
                evidence={
                    "last_used": _iso(ident.last_used),
                    "created": _iso(ident.created),
                    "unused_days": int(limit),
                },
            )


@check("aws_access_key_never_used")
def aws_access_key_never_used(ctx: CheckContext) -> Iterator[Hit]:
    limit = float(ctx.params.get("min_age_days", 30))
    for ident in _users(ctx):
        for cred in _active_keys(ident):
            if cred.last_used is not None:
                continue
            age = ctx.days_since(cred.created)
            if age is None or age <= limit:
                continue
            yield Hit(
                identity=ident,
                credential=cred,
                severity=_severity_for(ctx, ident),
                message=f"access key {cred.id} of {ident.name} was created {_fmt_days(age)} ago and never used",
                evidence={"age_days": int(age), "created": _iso(cred.created)},
            )


@check("aws_two_active_keys")
def aws_two_active_keys(ctx: CheckContext) -> Iterator[Hit]:
    window = float(ctx.params.get("recent_use_days", 30))
    for ident in _users(ctx):
        keys = _active_keys(ident)
        if len(keys) < 2:
            continue
        recent = [k for k in keys if (d := ctx.days_since(k.last_used)) is not None and d <= window]
        shared = len(recent) >= 2
        why = (
            "both are in use, so probably two workloads share this identity"
            if shared
            else "a rotation was left half done"
        )
        yield Hit(
            identity=ident,
            severity=_severity_for(ctx, ident),
            owasp_extra=("NHI9:2025",) if shared else (),
            message=f"{ident.name} has {len(keys)} active access keys ({', '.join(k.id for k in keys)}): {why}",
            evidence={"keys": [k.id for k in keys], "both_recently_used": shared},
        )


@check("aws_admin_equivalent")
def aws_admin_equivalent(ctx: CheckContext) -> Iterator[Hit]:
    for ident in ctx.identities("aws", nonhuman_only=True):
        if ident.attributes.get("managed_by_provider"):
            continue
        priv = privilege_of(ctx, ident)
        if priv.level != "admin":
            continue
        keys = _active_keys(ident)
        severity = _RAISE[ctx.rule.severity] if keys else None
        extra = f"; it holds {len(keys)} active long-lived access key(s)" if keys else ""
        yield Hit(
            identity=ident,
            severity=severity,
            severity_reason="it holds active long-lived access keys" if keys else "",
            message=f"{_label(ident)} is admin-equivalent: {'; '.join(priv.reasons)}{extra}",
            evidence={"reasons": list(priv.reasons), "active_keys": [k.id for k in keys]},
        )


@check("aws_privilege_escalation")
def aws_privilege_escalation(ctx: CheckContext) -> Iterator[Hit]:
    for ident in ctx.identities("aws", nonhuman_only=True):
        if ident.attributes.get("managed_by_provider"):
            continue
        priv = privilege_of(ctx, ident)
        if priv.level != "escalation":
            continue
        paths = escalation_paths(ident, ctx.memo)
        names = [p.name + (" (conditional)" if c else "") for p, c in paths]
        all_conditional = all(c for _, c in paths)
        yield Hit(
            identity=ident,
            severity=_LOWER[ctx.rule.severity] if all_conditional else None,
            message=f"{_label(ident)} can escalate privileges: {', '.join(names)}",
            evidence={
                "paths": [
                    {"name": p.name, "actions": list(p.actions), "conditional": c, "how": p.description}
                    for p, c in paths
                ]
            },
        )


@check("aws_unused_service_permissions")
def aws_unused_service_permissions(ctx: CheckContext) -> Iterator[Hit]:
    """Services a non-human identity's policies allow (IAM's service last accessed data lists exactly
    those) that it never used, or not within ``unused_days``. Without that data: silent."""
    limit = float(ctx.params.get("unused_days", 90))
    minimum = int(ctx.params.get("min_unused_services", 1))
    shown = 5
    for ident in ctx.identities("aws", nonhuman_only=True):
        if ident.attributes.get("managed_by_provider"):
            continue
        services = ident.attributes.get("services_last_accessed")
        if not isinstance(services, Mapping) or not services:
            continue
        age = ctx.days_since(ident.created)
        if age is not None and age <= limit:
            continue  # too young to have used everything it was given
        never: list[str] = []
        stale: list[str] = []
        for ns, when in sorted(services.items()):
            if when is None:
                never.append(str(ns))
                continue
            idle = ctx.days_since(_parse_iso(when))
            if idle is not None and idle > limit:
                stale.append(str(ns))
        unused = sorted(never + stale)
        if len(unused) < max(1, minimum):
            continue
        names = ", ".join(unused[:shown]) + (
            f" and {len(unused) - shown} more" if len(unused) > shown else ""
        )
        yield Hit(
            identity=ident,
            message=(
                f"{_label(ident)} is allowed {len(services)} AWS services but has not used "
                f"{len(unused)} of them in {int(limit)} days: {names}"
            ),
            evidence={
                "unused_services": unused,
                "never_used": never,
                "not_used_recently": stale,
                "granted_services": len(services),
                "unused_days": int(limit),
            },
        )


@check("aws_machine_user_console_password")
def aws_machine_user_console_password(ctx: CheckContext) -> Iterator[Hit]:
    for ident in _users(ctx):
        if not ident.nonhuman:
            continue
        for cred in ident.credentials:
            if cred.kind != "aws-console-password" or not cred.active:
                continue
            mfa = bool(cred.attributes.get("mfa_active"))
            yield Hit(
                identity=ident,
                credential=cred,
                severity=None if not mfa else _LOWER[ctx.rule.severity],
                message=(
                    f"machine user {ident.name} ({ident.classification}) can sign in to the console "
                    f"with a password{'' if mfa else ' and no MFA'}"
                ),
                evidence={"mfa_active": mfa, "classification": ident.classification},
            )


@check("aws_root_access_keys")
def aws_root_access_keys(ctx: CheckContext) -> Iterator[Hit]:
    for ident in ctx.identities("aws"):
        if ident.kind != "aws-root-account":
            continue
        for cred in _active_keys(ident):
            yield Hit(
                identity=ident,
                credential=cred,
                message=f"the root user of account {ident.scope} has an active access key",
                evidence={"created": _iso(cred.created), "last_used": _iso(cred.last_used)},
            )


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
                severity = _RAISE[severity]
            if priv.privileged:
                severity = _RAISE[severity]
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
                severity = _RAISE[severity]
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
                severity=_LOWER[ctx.rule.severity] if ext else None,
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


def _label(ident: Identity) -> str:
    kind = {"aws-iam-user": "IAM user", "aws-iam-role": "role"}.get(ident.kind, ident.kind)
    return f"{kind} {ident.name}"


def _parse_iso(value: Any) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None
