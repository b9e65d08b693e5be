"""The questions `nhiscan paths` asks the escalation graph, and how it names a node.

- ``IDENTITY``: everything the identity reaches, each with its shortest path;
- ``IDENTITY --to admin``: its shortest path to any admin identity;
- ``IDENTITY --to OTHER``: its shortest path to OTHER;
- ``--to admin``: every non-human identity (and leaked secret, CI workflow) that reaches admin,
  shortest path first (one search for all of them);
- ``--to OTHER``: everyone who reaches OTHER.

A node is named by its id (an ARN for AWS), an email (GCP service accounts), or its name when
exactly one identity has it; a graph's pseudo-node (``secret:...``, ``workflow:...``) by its id.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from nhiscan.analyze.graph import Graph, higher
from nhiscan.analyze.graph.edge import Edge
from nhiscan.errors import NhiscanError
from nhiscan.model import Identity

ADMIN = "admin"


@dataclass(frozen=True)
class PathRow:
    source: str
    target: str
    privilege: str  # the target's own privilege level
    path: tuple[Edge, ...]

    @property
    def conditional(self) -> bool:
        return any(e.conditional for e in self.path)


def _names(ident: Identity) -> Iterable[str]:
    yield ident.name
    for key in ("email", "client_email", "userPrincipalName", "appId"):
        value = ident.attributes.get(key)
        if isinstance(value, str) and value:
            yield value
    if "@" in ident.id:
        yield ident.id.rsplit("/", 1)[-1]


def resolve(graph: Graph, text: str) -> str:
    """The node ``text`` names; NhiscanError (exit 2) when none or several do."""
    wanted = text.strip()
    if wanted in graph.identities or wanted in graph.out or wanted in graph.into:
        return wanted
    exact = [i.id for i in graph.identities.values() if wanted in set(_names(i))]
    found = exact or [
        i.id for i in graph.identities.values() if wanted.lower() in {n.lower() for n in _names(i)}
    ]
    found = sorted(set(found))
    if len(found) == 1:
        return found[0]
    if not found:
        raise NhiscanError(
            f"identity {wanted!r}: no identity in the scanned inputs has this id, ARN, email or name"
        )
    shown = ", ".join(found[:5]) + (f" and {len(found) - 5} more" if len(found) > 5 else "")
    raise NhiscanError(f"identity {wanted!r} is ambiguous: it names {shown}; give the id or ARN")


def query(graph: Graph, source: str | None, target: str | None) -> list[PathRow]:
    """The rows ``nhiscan paths`` shows (ids already resolved; ``target`` may be ``admin``)."""
    if source is not None and target is None:
        rows = [
            PathRow(source, node, graph.level(node), path)
            for node, path in graph.reachable_from(source).items()
        ]
        return sorted(rows, key=_reach_order)
    if source is not None and target is not None:
        path = graph.path_to(source, target)
        if not path:
            return []
        return [PathRow(source, path[-1].target, graph.level(path[-1].target), path)]
    if target is None:
        raise NhiscanError("give an IDENTITY, --to admin|IDENTITY, or both")
    tree = graph.to_admin() if target == ADMIN else graph.reverse_search((target,))
    rows = []
    for node in tree.nxt:
        ident = graph.identities.get(node)
        if ident is not None and not ident.nonhuman:
            continue
        if target == ADMIN and graph.level(node) == ADMIN:
            continue  # admin itself: no path to show
        path = tree.path(node) or ()
        rows.append(PathRow(node, path[-1].target, graph.level(path[-1].target), path))
    return sorted(rows, key=lambda r: (len(r.path), r.conditional, r.source))


def _reach_order(r: PathRow) -> tuple[int, int, bool, str]:
    rank = sum(1 for level in ("admin", "escalation", "write", "read") if higher(level, r.privilege))
    return (len(r.path), rank, r.conditional, r.target)
