"""Leaked secrets joined to the identities that own them (rule leaked-credential-linked).

One finding per leaked credential, whatever the number of copies: it names the identity and the
credential, lists every place the credential leaked, says whether the credential still works and
when it was last used, and carries the identity's blast radius. Severity follows what an attacker
holding the leak can do today:

- critical: the credential is active (or possibly active) and the identity is privileged
  (admin-equivalent or able to escalate), itself or through the identities it can become (the
  escalation graph: "this leaked key reaches admin in 3 hops via ...");
- high: the credential is active (or possibly active);
- medium: the credential exists but is disabled;
- low: the identity is known but the leaked key is no longer among its credentials (deleted or
  rotated): worth knowing, since the leak shows where keys of this identity end up.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from nhiscan.analyze.checks import CheckContext, Hit, check
from nhiscan.analyze.correlate import ACTIVE, INACTIVE, NOT_FOUND, UNVERIFIED, Leak, correlate
from nhiscan.analyze.graph import Graph, Reach, describe, graph_for, higher, hop_out
from nhiscan.analyze.graph.edge import Edge
from nhiscan.analyze.graph.edges_secrets import node_id
from nhiscan.analyze.power import blast_radius
from nhiscan.model import Severity
from nhiscan.model.serialize import dt_out, location_out


def leaks(ctx: CheckContext) -> list[Leak]:
    """The scan's correlation, computed once and shared by every rule that needs it."""
    return ctx.cached("correlated_leaks", lambda: correlate(ctx.inventory))


def _used_phrase(ctx: CheckContext, leak: Leak) -> str:
    days = ctx.days_since(leak.credential.last_used if leak.credential else None)
    if days is None:
        return "no recorded use"
    return f"last used {int(days)} day(s) ago" if days >= 1 else "used within the last day"


@check("leaked_credential_linked")
def leaked_credential_linked(ctx: CheckContext) -> Iterator[Hit]:
    for leak in leaks(ctx):
        ident, cred = leak.identity, leak.credential
        power = blast_radius(ctx, ident)
        live = leak.status in (ACTIVE, UNVERIFIED)
        g = graph_for(ctx.inventory, ctx.as_of, ctx.memo)
        reach, path = _reach(g, leak) if live else (Reach(power.level), ())
        beyond = reach.path and higher(reach.level, power.level)
        privileged = power.privileged or (bool(beyond) and reach.level in ("admin", "escalation"))
        if live and privileged:
            severity = Severity.CRITICAL
        elif live:
            severity = Severity.HIGH
        elif leak.status == INACTIVE:
            severity = Severity.MEDIUM
        else:
            severity = Severity.LOW
        locs = leak.locations
        repos = sorted({loc.repository for loc in locs if loc.repository})
        files = {(loc.repository, loc.path, loc.commit) for loc in locs}
        where = f"{len(files)} file(s)" + (f" in {len(repos)} repositories" if len(repos) > 1 else "")
        state = {
            ACTIVE: f"active, {_used_phrase(ctx, leak)}",
            UNVERIFIED: "the application holds enabled secrets; which one leaked is unknown",
            INACTIVE: f"disabled, {_used_phrase(ctx, leak)}",
            NOT_FOUND: "no longer among the identity's credentials (deleted or rotated)",
        }[leak.status]
        radius = f"; privilege: {power.level}" if power.level not in ("unknown", "none") else ""
        if beyond:
            radius += (
                f"; this leaked key reaches {reach.level} in {len(path)} hops via {describe(path, g)}"
                + (" (conditional)" if any(e.conditional for e in path) else "")
            )
        evidence: dict[str, Any] = {
            "locations": [location_out(loc) for loc in locs],
            "repositories": repos,
            "secret_types": leak.secret_types,
            "redacted": sorted({s.redacted for s in leak.secrets}),
            "credential_status": leak.status,
            "credential_active": leak.status == ACTIVE,
            "credential_id": cred.id if cred else None,
            "credential_last_used": dt_out(cred.last_used) if cred else None,
            "credential_created": dt_out(cred.created) if cred else None,
            "matched_on": list(leak.matched_on),
            "privilege": power.level,
            "privilege_reasons": list(power.reasons),
            "reachable_privilege": reach.level if beyond else power.level,
            "escalation_path": [hop_out(e) for e in path] if beyond else [],
        }
        what = f"{cred.kind} {cred.id.rsplit('/', 1)[-1]}" if cred else "a credential"
        yield Hit(
            identity=ident,
            credential=cred,
            location=locs[0],
            severity=severity,
            severity_reason=(
                "the credential still works and the identity "
                + (
                    "is admin-equivalent"
                    if power.level == "admin"
                    else "can escalate its privileges"
                    if power.privileged
                    else f"reaches {reach.level} in {reach.hops} hop(s)"
                )
                if severity is Severity.CRITICAL
                else ""
            ),
            message=(
                f"{what} of {ident.kind} {ident.name} ({ident.scope or ident.provider}) "
                f"leaked in {where}: {state}{radius}"
            ),
            evidence=evidence,
            key=cred.id if cred else "unidentified-credential",
            location_in_fingerprint=False,
        )


def _reach(g: Graph, leak: Leak) -> tuple[Reach, tuple[Edge, ...]]:
    """The identity's reachable privilege, and the path from the leaked key (its first hop: the
    key to its identity) when the identity reaches beyond its own privilege."""
    reach = g.reach(leak.identity.id)
    if not reach.path:
        return reach, ()
    for secret in leak.secrets:
        for e in g.out.get(node_id(secret.fingerprint_id), ()):
            if e.target == leak.identity.id:
                return reach, (e, *reach.path)
    return reach, reach.path
