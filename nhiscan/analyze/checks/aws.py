"""AWS IAM checks: credential lifecycle, privilege, trust policies.

Who is checked: credential-age rules apply to every IAM user's keys (a person's old key is a risk
too) but a human user's finding is one severity step lower, since the NHI Top 10 is about machine
identities and a person's key is usually covered by other controls; root keys have their own rule.
Privilege rules apply to non-human identities only (humans with admin rights are a different
program), never to AWS-managed service-linked roles. Trust rules apply to every role (a trust
policy is the door, whoever walks through it). All ages use ``ctx.as_of``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime, timezone
from typing import Any

from nhiscan.analyze.checks import LOWER, RAISE, CheckContext, Hit, check
from nhiscan.analyze.graph import ASSUME_ANY_ROLE, graph_for
from nhiscan.analyze.graph.edges_aws_assume import KIND as ASSUME_KIND
from nhiscan.analyze.privilege import privilege_of
from nhiscan.analyze.privilege_aws import escalation_paths
from nhiscan.model import Credential, Identity, Severity


def _severity_for(ctx: CheckContext, ident: Identity) -> Severity | None:
    return None if ident.nonhuman else LOWER[ctx.rule.severity]


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
        severity = RAISE[ctx.rule.severity] if keys else None
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
        roles = _assumable(ctx, ident)
        # sts:AssumeRole on * is only as wide as the trusts that admit the identity: with none in the
        # scanned inventory it is no escalation path of its own (the graph keeps its real edges)
        idle = {p.name for p, _ in paths if p.name == ASSUME_ANY_ROLE and not roles}
        live = [(p, c) for p, c in paths if p.name not in idle]
        names = [p.name + (" (conditional)" if c else "") for p, c in live]
        names += [f"{n} (no role in the scanned inventory admits it)" for n in sorted(idle)]
        severity = LOWER[ctx.rule.severity] if all(c for _, c in live) else None
        if not live:  # only sts:AssumeRole on *, and no trust admits the identity
            severity = Severity.MEDIUM if ctx.rule.severity.rank > Severity.MEDIUM.rank else None
        yield Hit(
            identity=ident,
            severity=severity,
            message=f"{_label(ident)} can escalate privileges: {', '.join(names)}"
            + (
                "; sts:AssumeRole on * reaches no role today: no trust policy in the scanned"
                " inventory admits this identity, so the severity is lowered (a role added later"
                " that trusts the account would be reachable at once)"
                if not live
                else ""
            ),
            evidence={
                "paths": [
                    {
                        "name": p.name,
                        "actions": list(p.actions),
                        "conditional": c,
                        "how": p.description,
                        **({"assumable_roles": roles} if p.name == ASSUME_ANY_ROLE else {}),
                    }
                    for p, c in paths
                ]
            },
        )


def _assumable(ctx: CheckContext, ident: Identity) -> list[str]:
    """The roles the escalation graph says the identity may assume."""
    g = graph_for(ctx.inventory, ctx.as_of, ctx.memo)
    return sorted({e.target for e in g.out.get(ident.id, ()) if e.kind == ASSUME_KIND})


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
                severity=None if not mfa else LOWER[ctx.rule.severity],
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
