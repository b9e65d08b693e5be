"""oidc-trust-too-broad: cloud trusts that admit more GitHub Actions runs than the workflows need.

Reads the GitHub OIDC trusts of the inventory (AWS role trust policies, Azure federated credentials,
GCP workload identity pool providers with the pool members bound on service accounts)
and the workflow facts of any repository scanned with them (``analyze/ci_oidc.py``). One finding per
trust statement, naming what it admits beyond a pinned branch or environment, the workflow jobs that
use it, and the subjects those jobs actually run as. The severity is the breadth's, raised one level
when the identity is admin-equivalent or can escalate to it.
"""

from __future__ import annotations

from collections.abc import Iterator

from nhiscan.analyze import ci_oidc
from nhiscan.analyze.checks import CheckContext, Hit, check
from nhiscan.analyze.privilege import privilege_of
from nhiscan.model import Location, Severity

_ORDER = ("info", "low", "medium", "high", "critical")


@check("oidc_trust_too_broad")
def oidc_trust_too_broad(ctx: CheckContext) -> Iterator[Hit]:
    trusts = ci_oidc.all_trusts(ctx.inventory)
    if not trusts:
        return
    users: dict[tuple[str, str], list[ci_oidc.Match]] = {}
    for m in ci_oidc.match(ci_oidc.workflow_jobs(ctx.inventory), trusts):
        users.setdefault((m.trust.identity.id, m.trust.where), []).append(m)
    for trust in trusts:
        wide = ci_oidc.breadth(trust)
        if not wide:
            continue
        ident = trust.identity
        worst_class, worst_said = max(wide, key=lambda w: _ORDER.index(ci_oidc.BASE[w[0]]))
        worst = ci_oidc.BASE[worst_class]
        priv = privilege_of(ctx, ident)
        severity, reasons = worst, []
        if _ORDER.index(worst) > _ORDER.index(ctx.rule.severity.value):
            reasons.append(f"it accepts tokens {worst_said}")
        if priv.privileged:
            severity = _ORDER[min(_ORDER.index(worst) + 1, len(_ORDER) - 1)]
            reasons.append(
                f"{ident.name} is {'admin-equivalent' if priv.level == 'admin' else 'a privilege-escalation path'}"
            )
        if trust.undecided and _ORDER.index(severity) > _ORDER.index(ctx.rule.severity.value):
            # an upper bound only: not raised above the rule's severity on what was not decided
            severity, reasons = ctx.rule.severity.value, []
        used = users.get((ident.id, trust.where), [])
        jobs = [
            {
                "workflow": m.job.path,
                "repository": m.job.repository_name,
                "job": m.job.job,
                "runs_as": list(m.job.subjects),
                "matched": m.pattern.value,
            }
            for m in used
        ]
        message = f"{ident.name} accepts GitHub Actions OIDC tokens " + "; and ".join(d for _, d in wide)
        if trust.gcp is not None:
            message += f" (pool member {trust.gcp.member} through provider {trust.gcp.provider.name})"
        if trust.undecided:
            message += (
                f"; undecided: {'; '.join(trust.undecided)} (taken as admitting every token, so this is an "
                "upper bound)"
            )
        if used:
            runs = sorted(
                {"any ref (dispatched or called)" if s == "*" else s for m in used for s in m.job.subjects}
            )
            names = sorted({f"{m.job.path} job {m.job.job}" for m in used})
            said = ", ".join(runs) or "nothing (their if: is false for every run their triggers start)"
            message += f"; used by {', '.join(names)}, which run{'s' if len(names) == 1 else ''} as {said}"
        # The place to look: the job that names this role (a decided match first), never part of the
        # fingerprint (the same trust with or without the repository scanned is one finding).
        first = min(used, key=lambda m: (m.conditional, m.job.path, m.job.line or 0), default=None)
        yield Hit(
            identity=ident,
            message=message,
            location=(
                Location(
                    path=first.job.path,
                    line=first.job.line,
                    repository_name=first.job.repository_name or None,
                )
                if first
                else None
            ),
            location_in_fingerprint=False,
            severity=Severity.parse(severity) if severity != ctx.rule.severity.value else None,
            severity_reason="; ".join(reasons)
            if _ORDER.index(severity) > _ORDER.index(ctx.rule.severity.value)
            else "",
            evidence={
                "trust": trust.where,
                "admits": [c for c, _ in wide],
                "subjects": [p.value for p in trust.subs or ()],
                "audiences": list(trust.auds) if trust.auds is not None else None,
                "privilege": priv.level,
                **({"undecided": list(trust.undecided)} if trust.undecided else {}),
                **(
                    {
                        "gcp": {
                            "provider": trust.gcp.provider.name,
                            "attribute_condition": trust.gcp.provider.condition,
                            "member": trust.gcp.member,
                            "role": trust.gcp.role,
                        }
                    }
                    if trust.gcp is not None
                    else {}
                ),
                "workflows": jobs,
            },
            key=trust.where,
        )
