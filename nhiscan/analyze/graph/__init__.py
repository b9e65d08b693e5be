"""Who can become whom: the escalation graph over the whole inventory.

An edge ``A -> B`` says that A can act as B or gain B's privileges (assume a role, mint a key,
write a policy, hold B's leaked key...). Each technique family is one builder module
``nhiscan.analyze.graph.edges_<name>`` exposing ``edges(inventory, as_of) -> Iterator[Edge]``;
``BUILDERS`` names the ones the scan runs, imported lazily (none of them imports a cloud SDK).

The graph is built once per scan (``graph_for``: memoised in the analysis memo, next to the
per-identity privilege cache it reuses) and answers, all in time linear in nodes + edges:

- every node's shortest path to an admin identity: one multi-source breadth-first search on the
  reversed edges from the set of admin identities (identities whose own privilege is ``admin``),
  never one search per identity;
- the shortest path from one node to a given node (one reverse search from the target);
- every node's *reachable privilege*: the highest level of ``privilege.LEVELS`` among the identities
  it reaches (itself included), with the path: one reverse search per level, each pruned to the
  nodes earlier (higher) levels did not claim;
- everything one node reaches (a forward search), for ``nhiscan paths``.

A builder says "A can grant itself any permission" (write its own policy, join an admin group, rewrite
the boundary that holds it back, bind itself a cluster role) with a *self-edge*, ``source ==
target``, of a kind such as ``aws-self-modify`` or ``k8s-rbac-self-grant``. The graph turns it
into an edge to a node of its own, ``self-grant:<A>``, whose level is ``admin``: so A reaches admin
in one hop, and whoever reaches A reaches admin through it.

Shortest means fewest hops; among paths of equal length the one with fewer conditional edges wins,
then the lowest next node id and edge (kind, via, file): deterministic.
"""

from __future__ import annotations

import dataclasses
import importlib
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from nhiscan.analyze.graph.edge import Edge
from nhiscan.analyze.privilege import LEVELS, Privilege, assess
from nhiscan.model import Identity, Inventory, Reachable

BUILDERS: tuple[str, ...] = ("aws_assume", "aws", "gcp", "azure", "kubernetes", "ci", "secrets")
# Benchmark switch only (benchmarks/graph_bench.py): build an empty graph, to measure its cost.
DISABLE_ENV = "NHISCAN_GRAPH_DISABLED"
REACH_LEVELS = ("admin", "escalation", "write", "read")
# The node standing for "A with every permission it can grant itself" (see self-edges above).
SELF_GRANT = "self-grant:"
_RANK = {level: i for i, level in enumerate(LEVELS)}
MEMO_KEY = "escalation-graph"


def hop_out(e: Edge) -> dict[str, Any]:
    """One hop as the JSON result, the rule's evidence and ``nhiscan paths --format json`` write it."""
    return {
        "from": e.source,
        "to": e.target,
        "kind": e.kind,
        "via": e.via,
        "file": e.path,
        "conditional": e.conditional,
        "condition": e.condition,
    }


def hop_in(d: Mapping[str, Any]) -> Edge:
    return Edge(
        source=str(d.get("from", "")),
        target=str(d.get("to", "")),
        kind=str(d.get("kind", "")),
        via=str(d.get("via", "")),
        path=None if d.get("file") is None else str(d.get("file")),
        conditional=bool(d.get("conditional")),
        condition=str(d.get("condition") or ""),
    )


@dataclass(frozen=True)
class Reach:
    """The highest privilege a node reaches and the shortest path there (empty: its own)."""

    level: str
    target: str | None = None  # the node that holds ``level`` (None: the node itself)
    path: tuple[Edge, ...] = ()

    @property
    def conditional(self) -> bool:
        return any(e.conditional for e in self.path)

    @property
    def hops(self) -> int:
        return len(self.path)


@dataclass
class _Tree:
    """A reverse search's answer: each node's distance to the sources and its first hop there."""

    dist: dict[str, int] = field(default_factory=dict)
    conds: dict[str, int] = field(default_factory=dict)
    nxt: dict[str, Edge] = field(default_factory=dict)

    def path(self, node: str) -> tuple[Edge, ...] | None:
        if node not in self.dist:
            return None
        out: list[Edge] = []
        while node in self.nxt:
            e = self.nxt[node]
            out.append(e)
            node = e.target
        return tuple(out)


def _key(cond: int, e: Edge, other: str) -> tuple[int, str, str, str, str]:
    return (cond + e.conditional, other, e.kind, e.via, e.path or "")


class Graph:
    def __init__(self, identities: Iterable[Identity], edges: Iterable[Edge], levels: Mapping[str, str]):
        self.identities: dict[str, Identity] = {i.id: i for i in identities}
        self.levels: dict[str, str] = dict(levels)
        self.out: dict[str, list[Edge]] = {}
        self.into: dict[str, list[Edge]] = {}
        seen: set[Edge] = set()
        for e in edges:
            if e.source == e.target:
                e = dataclasses.replace(e, target=SELF_GRANT + e.source)
                self.levels[e.target] = "admin"
            if e in seen:
                continue
            seen.add(e)
            self.out.setdefault(e.source, []).append(e)
            self.into.setdefault(e.target, []).append(e)
        self.edge_count = len(seen)
        self._admin: _Tree | None = None
        self._reach: dict[str, tuple[str, _Tree | None]] | None = None

    # ---- facts
    def level(self, node: str) -> str:
        """A node's own privilege level (pseudo-nodes: none)."""
        return self.levels.get(node, "none")

    def nodes(self) -> list[str]:
        return sorted(set(self.identities) | set(self.out) | set(self.into))

    def label(self, node: str) -> str:
        if node.startswith(SELF_GRANT):
            return f"{self.label(node[len(SELF_GRANT) :])} with the permissions it can grant itself"
        ident = self.identities.get(node)
        if ident is None:
            return node
        return f"{ident.kind} {ident.name}" + (f" ({ident.scope})" if ident.scope else "")

    def short(self, node: str) -> str:
        if node.startswith(SELF_GRANT):
            return f"{self.short(node[len(SELF_GRANT) :])} (self-granted admin)"
        ident = self.identities.get(node)
        return ident.name if ident is not None else node

    # ---- searches
    def reverse_search(self, targets: Iterable[str], blocked: Mapping[str, Any] | None = None) -> _Tree:
        """Multi-source breadth-first search on reversed edges from ``targets``: every node that
        reaches one of them, with its distance and first hop; nodes in ``blocked`` are not entered."""
        tree = _Tree()
        frontier = []
        for t in targets:
            if t not in tree.dist:
                tree.dist[t] = 0
                tree.conds[t] = 0
                frontier.append(t)
        depth = 0
        while frontier:
            depth += 1
            best: dict[str, tuple[tuple[int, str, str, str, str], Edge]] = {}
            for v in frontier:
                cv = tree.conds[v]
                for e in self.into.get(v, ()):
                    u = e.source
                    if u in tree.dist or (blocked is not None and u in blocked):
                        continue
                    k = _key(cv, e, v)
                    cur = best.get(u)
                    if cur is None or k < cur[0]:
                        best[u] = (k, e)
            for u, (k, e) in best.items():
                tree.dist[u] = depth
                tree.conds[u] = k[0]
                tree.nxt[u] = e
            frontier = list(best)
        return tree

    def admin_nodes(self) -> list[str]:
        return sorted(n for n, level in self.levels.items() if level == "admin")

    def to_admin(self) -> _Tree:
        """Every node's shortest path to an admin identity (one search for all of them)."""
        if self._admin is None:
            self._admin = self.reverse_search(self.admin_nodes())
        return self._admin

    def path_to_admin(self, node: str) -> tuple[Edge, ...] | None:
        return self.to_admin().path(node)

    def path_to(self, source: str, target: str) -> tuple[Edge, ...] | None:
        if target == "admin":
            return self.path_to_admin(source)
        return self.reverse_search((target,)).path(source)

    def _levels_reached(self) -> dict[str, tuple[str, _Tree | None]]:
        """Every node's reachable level and the search that found it: one pruned reverse search
        per level, highest first (paths are read from the searches on demand)."""
        if self._reach is not None:
            return self._reach
        reach: dict[str, tuple[str, _Tree | None]] = {}
        for level in REACH_LEVELS:
            holders = [n for n, lv in self.levels.items() if lv == level and n not in reach]
            if not holders:
                continue
            tree = self.reverse_search(holders, blocked=reach)
            for node in tree.dist:
                reach[node] = (level, tree)
        self._reach = reach
        return reach

    def reach(self, node: str) -> Reach:
        """The highest privilege ``node`` reaches, and the shortest path there."""
        hit = self._levels_reached().get(node)
        if hit is None or hit[1] is None:
            return Reach(self.level(node))
        path = hit[1].path(node) or ()
        return Reach(hit[0], path[-1].target if path else None, path)

    def reach_all(self) -> dict[str, Reach]:
        """Every node's reachable privilege (the paths' total length is the output's size)."""
        return {node: self.reach(node) for node in self.nodes()}

    def reachable_from(self, source: str) -> dict[str, tuple[Edge, ...]]:
        """Every node ``source`` reaches (itself excluded), each with its shortest path."""
        dist = {source: 0}
        conds = {source: 0}
        parent: dict[str, Edge] = {}
        frontier = [source]
        depth = 0
        while frontier:
            depth += 1
            best: dict[str, tuple[tuple[int, str, str, str, str], Edge]] = {}
            for u in frontier:
                cu = conds[u]
                for e in self.out.get(u, ()):
                    v = e.target
                    if v in dist:
                        continue
                    k = _key(cu, e, u)
                    cur = best.get(v)
                    if cur is None or k < cur[0]:
                        best[v] = (k, e)
            for v, (k, e) in best.items():
                dist[v] = depth
                conds[v] = k[0]
                parent[v] = e
            frontier = list(best)
        out: dict[str, tuple[Edge, ...]] = {}
        for node in dist:
            if node == source:
                continue
            hops: list[Edge] = []
            cur_node = node
            while cur_node != source:
                e = parent[cur_node]
                hops.append(e)
                cur_node = e.source
            out[node] = tuple(reversed(hops))
        return out


def _builder(name: str) -> Callable[[Inventory, datetime], Iterable[Edge]]:
    module = importlib.import_module(f"nhiscan.analyze.graph.edges_{name}")
    fn: Callable[[Inventory, datetime], Iterable[Edge]] = module.edges
    return fn


def build(
    inventory: Inventory,
    as_of: datetime,
    memo: dict[str, Any] | None = None,
    builders: Iterable[str] = BUILDERS,
) -> Graph:
    """The graph of every builder's edges, with each identity's own privilege level."""
    memo = {} if memo is None else memo
    cache: dict[str, Privilege] = memo.setdefault("privilege", {})
    levels: dict[str, str] = {}
    for ident in inventory.identities:
        priv = cache.get(ident.id)
        if priv is None:
            priv = cache[ident.id] = assess(ident, memo)
        levels[ident.id] = priv.level
        if priv.level == "escalation" and ident.provider == "aws" and _assume_only(ident, memo):
            # sts:AssumeRole on *: its real reach is the roles whose trust admits the identity,
            # which are this graph's edges; on its own it is only a write permission
            levels[ident.id] = "write"
    if os.environ.get(DISABLE_ENV):
        return Graph(inventory.identities, (), levels)
    edges: list[Edge] = []
    for name in builders:
        edges.extend(_builder(name)(inventory, as_of))
    return Graph(inventory.identities, edges, levels)


def _assume_only(ident: Identity, memo: dict[str, Any]) -> bool:
    from nhiscan.analyze.privilege_aws import escalation_paths

    paths = escalation_paths(ident, memo)
    return bool(paths) and all(p.name == ASSUME_ANY_ROLE for p, _ in paths)


ASSUME_ANY_ROLE = "assume-any-role"


def graph_for(inventory: Inventory, as_of: datetime, memo: dict[str, Any]) -> Graph:
    """The scan's graph, built once and shared by every check, the scores and the result."""
    graph = memo.get(MEMO_KEY)
    if not isinstance(graph, Graph):
        graph = memo[MEMO_KEY] = build(inventory, as_of, memo)
    return graph


def higher(a: str, b: str) -> bool:
    """Whether privilege level ``a`` is above ``b``."""
    return _RANK.get(a, len(LEVELS)) < _RANK.get(b, len(LEVELS))


def describe(path: Iterable[Edge], graph: Graph | None = None) -> str:
    """A path for people: ``A -[kind]-> B -[kind]-> C``."""
    hops = list(path)
    if not hops:
        return ""
    name = graph.label if graph is not None else (lambda n: n)
    parts = [name(hops[0].source)]
    for e in hops:
        parts.append(f"-[{e.kind}{' (conditional)' if e.conditional else ''}]-> {name(e.target)}")
    return " ".join(parts)


def reachable(inventory: Inventory, as_of: datetime, memo: dict[str, Any]) -> dict[str, Reachable]:
    """Every identity's reachable privilege and escalation path, as the result carries them."""
    graph = graph_for(inventory, as_of, memo)
    out: dict[str, Reachable] = {}
    for ident in inventory.identities:
        r = graph.reach(ident.id)
        out[ident.id] = Reachable(r.level, tuple(hop_out(e) for e in r.path))
    return out
