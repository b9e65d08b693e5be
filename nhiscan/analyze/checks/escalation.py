"""Transitive escalation (rule nhi-transitive-escalation): what an identity can become, not only
what it holds.

Reads the scan's escalation graph (``analyze/graph``, built once per scan) and reports each
non-human identity that is not admin itself but reaches an admin identity, or else an identity with
a privilege-escalation path, in at least ``min_hops`` hops, with the shortest path hop by hop.
Severity: the rule's for admin, one step lower for an escalation path, one step lower again when
a hop rests on a condition the export cannot decide (said in the message).
"""

from __future__ import annotations

from collections.abc import Iterator

from nhiscan.analyze.checks import LOWER, CheckContext, Hit, check
from nhiscan.analyze.graph import SELF_GRANT, Graph, graph_for, higher, hop_out
from nhiscan.analyze.graph.edge import Edge
from nhiscan.analyze.privilege import privilege_of


def graph(ctx: CheckContext) -> Graph:
    return graph_for(ctx.inventory, ctx.as_of, ctx.memo)


def hop_lines(g: Graph, path: tuple[Edge, ...]) -> str:
    """``1. A -> B (kind: via) 2. ...`` for a finding's message."""
    return " ".join(
        f"{n}. {g.short(e.source)} -> {g.short(e.target)} ({e.kind}: {e.via}"
        + (f"; conditional: {e.condition}" if e.conditional else "")
        + ")"
        for n, e in enumerate(path, 1)
    )


@check("transitive_escalation")
def transitive_escalation(ctx: CheckContext) -> Iterator[Hit]:
    g = graph(ctx)
    min_hops = int(ctx.params.get("min_hops", 2))
    for ident in ctx.identities(nonhuman_only=True):
        if ident.attributes.get("managed_by_provider"):
            continue
        own = g.level(ident.id)
        r = g.reach(ident.id)
        if r.level not in ("admin", "escalation") or not higher(r.level, own) or r.hops < min_hops:
            continue
        target = r.path[-1].target
        severity = ctx.rule.severity if r.level == "admin" else LOWER[ctx.rule.severity]
        conditions = [e.condition for e in r.path if e.conditional]
        if conditions:
            severity = LOWER[severity]
        target_ident = g.identities.get(target)
        if target.startswith(SELF_GRANT):
            reasons = [r.path[-1].via]  # what it can grant itself, and how
        else:
            reasons = list(privilege_of(ctx, target_ident).reasons) if target_ident else []
        what = "admin" if r.level == "admin" else "an identity that can escalate its privileges"
        message = (
            f"{g.label(ident.id)} is {own} itself but reaches {what} in {r.hops} hops: {hop_lines(g, r.path)}"
        )
        if conditions:
            message += f" (conditional: the path holds only if {'; '.join(dict.fromkeys(conditions))})"
        yield Hit(
            identity=ident,
            severity=severity if severity is not ctx.rule.severity else None,
            message=message,
            evidence={
                "reachable_privilege": r.level,
                "own_privilege": own,
                "hops": r.hops,
                "target": target,
                "target_privilege_reasons": reasons,
                "conditional": bool(conditions),
                "path": [hop_out(e) for e in r.path],
            },
            key=r.level,
        )
