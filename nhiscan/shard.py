"""Sharding an organization: which accounts, projects and subscriptions one of N jobs collects.

``--shard I/N`` (I from 0 to N-1) keeps the scopes whose stable hash falls in shard I: the first 8
bytes of the SHA-256 of the scope id (an AWS account id, a GCP project id, an Azure subscription or
tenant id, a Kubernetes cluster), modulo N. The assignment depends on nothing but the id and N, so
N jobs on N machines, in any order, split an organization into N disjoint parts that together hold
all of it; merging their inventories (``nhiscan scan --input shards/``) gives the unsharded scan.

``--shard auto/N`` takes I from the environment a job runner provides: ``JOB_COMPLETION_INDEX``
(a Kubernetes Indexed Job), else ``NHISCAN_SHARD_INDEX`` (any other runner). A CI matrix passes it
on the command line (GitHub Actions: ``--shard ${{ matrix.shard }}/N``). docs/scale.md shows both.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from nhiscan.errors import NhiscanError
from nhiscan.model import Grant, Identity, Inventory, Location, LogConfig

INDEX_VARIABLES = ("JOB_COMPLETION_INDEX", "NHISCAN_SHARD_INDEX")
MAX_SHARDS = 100_000


@dataclass(frozen=True)
class Shard:
    index: int
    count: int

    def owns(self, scope: str | None) -> bool:
        """Whether this shard holds ``scope`` (what has no scope is held by shard 0)."""
        return shard_of(scope or "", self.count) == self.index

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def shard_of(scope: str, count: int) -> int:
    digest = hashlib.sha256(scope.encode("utf-8", "surrogateescape")).digest()
    return int.from_bytes(digest[:8], "big") % count if scope else 0


def parse_shard(value: str, environ: Mapping[str, str] | None = None) -> Shard:
    """``I/N`` or ``auto/N``; NhiscanError saying what is wrong otherwise."""
    env = os.environ if environ is None else environ
    index_text, slash, count_text = value.strip().partition("/")
    if not slash:
        raise NhiscanError(f"--shard: expected I/N (e.g. 0/20) or auto/N, got {value!r}")
    try:
        count = int(count_text)
    except ValueError:
        raise NhiscanError(f"--shard: N must be a whole number, got {count_text!r}") from None
    if not 1 <= count <= MAX_SHARDS:
        raise NhiscanError(f"--shard: N must be between 1 and {MAX_SHARDS}, got {count}")
    where = "I"
    if index_text.strip().lower() == "auto":
        name = next((n for n in INDEX_VARIABLES if env.get(n, "").strip()), None)
        if name is None:
            raise NhiscanError(
                f"--shard auto/{count}: no shard index in the environment "
                f"(set {' or '.join(INDEX_VARIABLES)}, or give --shard I/{count})"
            )
        index_text, where = env[name], name
    try:
        index = int(index_text)
    except ValueError:
        raise NhiscanError(f"--shard: {where} must be a whole number, got {index_text!r}") from None
    if not 0 <= index < count:
        raise NhiscanError(f"--shard: {where} must be between 0 and {count - 1} for N={count}, got {index}")
    return Shard(index, count)


def _place(loc: Location) -> str:
    """Where a repository finding lives, for sharding: its repository, else its file."""
    return loc.repository_name or loc.repository or loc.path


def _log_scope(cfg: LogConfig) -> str:
    """The scope a logging record is sharded by: the one its identities are. A GCP project's audit
    configs (``projects/P``) go with project P; a folder's or organization's with that folder or
    organization; an AWS trail listing with its account, an Azure subscription's Activity Log
    settings with the subscription, a tenant's Entra ID settings with the tenant, a cluster's
    audit settings with the cluster."""
    if cfg.kind == "gcp-audit-configs" and cfg.scope.startswith("projects/"):
        return cfg.scope.removeprefix("projects/")
    return cfg.scope


def shard_inventory(inv: Inventory, shard: Shard, partial: Collection[str] = ()) -> Inventory:
    """The part of a collected inventory this shard holds: identities by their scope (account,
    project, subscription, cluster), sources by their scope (else their path), secrets and
    observations by their repository, logging records by the scope they describe (see
    ``_log_scope``). Every record is in exactly one shard.

    ``partial``: providers whose grants this shard collected only in part (live Azure: the role
    assignments of its own subscriptions, while its identities belong to the tenant's shard). Their
    identities of other shards that hold grants here are kept as ``partial_identities``, and the
    merge adds those grants to the identity (``complete_partials``)."""
    return Inventory(
        sources=tuple(s for s in inv.sources if shard.owns(s.scope or s.path)),
        identities=tuple(i for i in inv.identities if shard.owns(i.scope)),
        secrets=tuple(s for s in inv.secrets if shard.owns(_place(s.location))),
        suppressed=tuple(s for s in inv.suppressed if shard.owns(_place(s.location))),
        observations=tuple(o for o in inv.observations if shard.owns(_place(o.location))),
        logging=tuple(c for c in inv.logging if shard.owns(_log_scope(c))),
        partial_identities=tuple(
            i for i in inv.identities if i.provider in partial and i.grants and not shard.owns(i.scope)
        ),
    )


def _azure_grant_key(g: Grant) -> tuple[str, ...]:
    from nhiscan.sources.azure import assignment_key

    return assignment_key(g)


# The order of an identity's grants, per provider, that does not depend on which shard read which:
# the same key the provider's normalizer sorts by.
_GRANT_ORDER: Mapping[str, Callable[[Grant], Any]] = {"azure": _azure_grant_key}


def complete_partials(identities: Sequence[Identity], partials: Sequence[Identity]) -> list[Identity]:
    """Identities with the grants other shards collected for them (``partial_identities``), as one
    unsharded collection would have them: each grant once, in the provider's order. An identity no
    shard held whole (e.g. a principal that is only named by role assignments) is taken as the
    first shard that saw it saw it."""
    extra: dict[str, list[Identity]] = {}
    for p in partials:
        extra.setdefault(p.id, []).append(p)
    out: list[Identity] = []
    for ident in identities:
        views = extra.pop(ident.id, None)
        out.append(_merged(ident, views) if views else ident)
    for views in extra.values():
        out.append(_merged(views[0], views[1:]) if len(views) > 1 else views[0])
    return out


def _merged(ident: Identity, views: Sequence[Identity]) -> Identity:
    grants = {grant_identity(g): g for g in ident.grants}
    for view in views:
        for g in view.grants:
            grants.setdefault(grant_identity(g), g)
    order = _GRANT_ORDER.get(ident.provider)
    merged = sorted(grants.values(), key=order) if order is not None else list(grants.values())
    return dataclasses.replace(ident, grants=tuple(merged))


def grant_identity(g: Grant) -> tuple[Any, ...]:
    """What makes two grants the same grant (a condition is a mapping: compared as its JSON)."""
    condition = json.dumps(g.condition, sort_keys=True, default=str) if g.condition is not None else None
    return (
        g.effect,
        g.actions,
        g.not_actions,
        g.resources,
        g.not_resources,
        g.scope,
        g.via,
        g.inherited_from,
        g.role,
        g.boundary,
        condition,
    )
