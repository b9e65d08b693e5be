"""Small helpers shared by the GCP, Azure and Kubernetes edge builders.

``PathIndex`` finds the export file an edge's permission came from (the inventory records which
files each provider read, not which identity came from which file: a path is given only when one
file of that kind and scope was read). ``capped`` keeps a source's edges to many targets bounded:
a binding on a whole project, tenant or namespace makes one edge per identity it covers, and a
source keeps at most ``TARGET_CAP`` of them per technique, the most privileged targets first
(``nhiscan.analyze.privilege`` levels, then id), so the graph stays linear in the inventory.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from nhiscan.analyze.graph.edge import Edge
from nhiscan.model import Identity, Inventory

# At most this many edges of one technique leave one source (see the module docstring).
TARGET_CAP = 200

SELF_GRANT = "-self-grant"  # the suffix of a self-edge's kind: "can grant itself any permission"


def records(value: Any) -> list[Mapping[str, Any]]:
    """The objects of a list attribute (anything else, and non-object items, are passed over)."""
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, (list, tuple)) else []


def strings(value: Any) -> list[str]:
    """The strings of a list attribute (anything else, and non-string items, are passed over)."""
    return [v for v in value if isinstance(v, str)] if isinstance(value, (list, tuple)) else []


class PathIndex:
    """The file a (source kind, scope) was read from, when exactly one file fits."""

    def __init__(self, inventory: Inventory) -> None:
        self._by_kind: dict[str, list[tuple[str | None, str | None]]] = {}
        self._memo: dict[tuple[tuple[str, ...], str | None], str | None] = {}
        for ref in inventory.sources:
            self._by_kind.setdefault(ref.kind, []).append((ref.scope, ref.path))

    def get(self, kinds: tuple[str, ...], scope: str | None = None) -> str | None:
        key = (kinds, scope)
        if key not in self._memo:
            self._memo[key] = self._find(kinds, scope)
        return self._memo[key]

    def _find(self, kinds: tuple[str, ...], scope: str | None) -> str | None:
        found = {
            path
            for kind in kinds
            for s, path in self._by_kind.get(kind, ())
            if path and (scope is None or s is None or _same_scope(s, scope))
        }
        return found.pop() if len(found) == 1 else None


def _same_scope(a: str, b: str) -> bool:
    return a.strip("/").removeprefix("projects/") == b.strip("/").removeprefix("projects/")


class Ranker:
    """Orders targets most privileged first (privilege assessed once per identity, lazily)."""

    def __init__(self, by_id: dict[str, Identity]) -> None:
        from nhiscan.analyze.privilege import LEVELS

        self._levels = {level: i for i, level in enumerate(LEVELS)}
        self._by_id = by_id
        self._memo: dict[str, Any] = {}
        self._rank: dict[str, int] = {}
        # id(group) -> (the group, kept alive so its id stays its own; its top targets)
        self._top: dict[int, tuple[list[Identity], list[Identity]]] = {}

    def top(self, items: list[Identity]) -> list[Identity]:
        """The ``TARGET_CAP`` most privileged of a group of targets (a namespace's, project's or
        tenant's identities; ties in the group's order), chosen once per group: a source covering a
        large group costs ``TARGET_CAP`` edges, not one per identity of the group."""
        keep = TARGET_CAP + 1  # one more: the source itself may be among them and makes no edge
        if len(items) <= keep:
            return items
        key = id(items)
        if key not in self._top:
            # identities without grants rank last (none): only the others need assessing
            ranked = sorted((i for i in items if i.grants), key=lambda i: (self.rank(i.id), i.id))[:keep]
            if len(ranked) < keep:
                ranked += [i for i in items if not i.grants][: keep - len(ranked)]
            self._top[key] = (items, ranked)
        return self._top[key][1]

    def rank(self, node: str) -> int:
        if node not in self._rank:
            from nhiscan.analyze.privilege import assess

            identity = self._by_id.get(node)
            if identity is None:
                level = "unknown"
            elif not identity.grants:
                level = "none"  # what every provider's assessment says of no grants, without its cost
            else:
                level = assess(identity, self._memo).level
            self._rank[node] = self._levels.get(level, len(self._levels))
        return self._rank[node]


def capped(edges: Iterable[Edge], rank: Callable[[str], int], limit: int = TARGET_CAP) -> list[Edge]:
    """The edges, one per (target, kind) (an unconditional one preferred), at most ``limit`` per kind:
    the most privileged targets when there are more."""
    kept: dict[tuple[str, str], Edge] = {}
    for e in edges:
        key = (e.kind, e.target)
        old = kept.get(key)
        if old is None or (old.conditional and not e.conditional):
            kept[key] = e
    if len(kept) <= limit:  # no kind can be over the limit: in the order they were found
        return list(kept.values())
    by_kind: dict[str, list[Edge]] = {}
    for e in kept.values():
        by_kind.setdefault(e.kind, []).append(e)
    out: list[Edge] = []
    for found in by_kind.values():
        out += (
            found if len(found) <= limit else sorted(found, key=lambda e: (rank(e.target), e.target))[:limit]
        )
    return out
