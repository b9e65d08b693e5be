"""AWS privilege-escalation edges other than ``sts:AssumeRole`` (``edges_aws_assume`` has those).

``edges(inventory, as_of)`` yields an edge A → B wherever identity A can act as, or gain the
privileges of, identity B through one of the published techniques (Rhino Security Labs' IAM
escalation methods, Bishop Fox's iam-vulnerable scenarios, PMapper's edge types, the
pathfinding.cloud catalogue): the table is docs/escalation-aws.md.

- **Credential minting** (``edges_aws_iam``): access keys and console passwords of another user.
- **Trust rewriting**: ``iam:UpdateAssumeRolePolicy`` on a role.
- **Compute** (``edges_aws_compute``): PassRole to a service the role trusts, and code run in
  compute that already runs as a role (conditional: the export lists no instances or functions).
- **Self-modification**: see below.

Every decision is made on the target's own ARN, not only on ``*``: a Resource naming one role, a
``policy/team-*`` pattern, an explicit Deny on one user, a permissions boundary, NotAction and
NotResource all count (``aws_policy`` matching), and Condition blocks are decided where the export
knows the value (``conditions``: dates against ``as_of``, account and organization ids). An
undecided condition keeps the edge with ``conditional=True`` and the condition said in
``condition``; a condition that never holds gives no edge.

**The self-edge convention.** An edge whose ``source`` equals its ``target``, of kind
``aws-self-modify``, means *A can grant itself anything*: it can write a policy that applies to
itself (on its own user or role, a managed policy it holds, one of its groups), join an
admin-equivalent group, or create a role or user and attach a policy to it — no ``sts:AssumeRole``
needed. The graph treats a self-edge as reaching admin. An identity has at most one self-edge:
``via`` names the surest call (unconditional first) and its resource, then the other calls.

An admin-equivalent identity (``privilege_aws``: any action on any resource, or full IAM policy
write) gets no edges: it already holds every privilege an edge could give.

Cost is linear in the inventory: identities, roles by trusted service, policies and groups are
indexed once (``edges_aws_eval.Index``), each distinct statement is matched once against the
technique actions (a bit mask) so identities without any of them cost one mask, and a Resource
pattern selects its targets by prefix. A wildcard that would give more than ``EDGE_CAP`` (32)
edges of one technique from one identity keeps the most privileged targets (admin first); and an
identity with more than ``EDGE_CAP`` edges in all keeps one edge per target (the surest: decided
before conditional), at most ``EDGE_CAP`` targets, most privileged first. A path needs one edge per
pair, and an estate where thousands of identities may pass any of thousands of roles to four kinds
of Lambda call would otherwise hold millions of edges that answer no further question.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from nhiscan.analyze.graph import edges_aws_compute, edges_aws_iam
from nhiscan.analyze.graph.edge import Edge
from nhiscan.analyze.graph.edges_aws_eval import ADMIN_RANK, EDGE_CAP, Actor, Index, mask_of
from nhiscan.model import Inventory

ACTIONS: tuple[str, ...] = tuple(
    dict.fromkeys((*edges_aws_iam.ACTIONS, *edges_aws_compute.ACTIONS, "iam:PassRole"))
)
# The actions that start some technique: an identity allowed none of them has no edge here.
_STARTS = frozenset((*edges_aws_iam.STARTS, *edges_aws_compute.STARTS))
_STARTS_MASK = sum(1 << i for i, a in enumerate(ACTIONS) if a in _STARTS)


def edges(inventory: Inventory, as_of: datetime) -> Iterator[Edge]:
    index = Index(inventory, as_of)
    trusts = edges_aws_compute.TrustIndex(index)
    cache: dict[tuple[Any, ...], int] = {}
    compute_bits = {a: 1 << i for i, a in enumerate(ACTIONS)}
    for ident in list(index.by_id.values()):
        try:
            mask = mask_of(ident.grants, ACTIONS, cache)
            if not mask & _STARTS_MASK or index.rank(ident.id) == ADMIN_RANK:
                continue  # an admin-equivalent identity already holds every privilege
            yield from _from(index, trusts, Actor(ident, as_of), mask, compute_bits)
        except (ValueError, TypeError, KeyError, AttributeError, IndexError):
            continue  # odd data in one identity never stops the others


def _from(
    index: Index,
    trusts: edges_aws_compute.TrustIndex,
    actor: Actor,
    mask: int,
    bits: dict[str, int],
) -> Iterator[Edge]:
    has = {a for a, b in bits.items() if mask & b}
    local = 0
    for i, a in enumerate(edges_aws_compute.ACTIONS):
        if a in has:
            local |= 1 << i
    out: list[Edge] = []
    out.extend(edges_aws_iam.mint_edges(index, actor, has))
    out.extend(edges_aws_iam.trust_edges(index, actor, has))
    if local:
        out.extend(edges_aws_compute.compute_edges(index, trusts, actor, local))
    if has & edges_aws_iam.WRITES:
        out.extend(edges_aws_iam.self_edges(index, actor, has, out))
    yield from _bounded(index, out)


def _bounded(index: Index, out: list[Edge]) -> list[Edge]:
    """One identity's edges, at most ``EDGE_CAP`` targets when it has more than that many edges."""
    if len(out) <= EDGE_CAP:
        return out
    best: dict[str, Edge] = {}
    for e in out:
        cur = best.get(e.target)
        if cur is None or (e.conditional, e.kind) < (cur.conditional, cur.kind):
            best[e.target] = e
    ranked = sorted(
        best.values(), key=lambda e: (e.source != e.target, -index.rank(e.target), e.conditional, e.target)
    )
    return ranked[:EDGE_CAP]
