"""What one AWS identity may do on one resource, with its conditions decided where the export can.

``Actor`` wraps an identity's statements (matched by ``aws_policy``'s statement tests: Action/NotAction,
Resource/NotResource, in linear time; a policy variable left unbound matches any text,
``aws_policy.ANY_TEXT``), applies explicit Deny and the permissions boundary, and decides each
statement's Condition with ``conditions.evaluate`` for the call:

- a condition that is never true drops its statement (an Allow grants nothing, a Deny denies nothing);
- one that is always true makes it unconditional (a Deny then applies);
- one that cannot be decided leaves an Allow *conditional* (the edge says which condition) and a
  Deny *possible*: the edge is kept, conditional, "unless the Deny's condition holds".

``Index`` holds what every actor is compared with, built once per call of ``edges_aws.edges``:
identities by ARN (sorted, so a Resource pattern's literal prefix selects a range by bisection),
roles by the service their trust policy admits, managed policies by ARN to their holders, groups
to their members and statements, and each identity's privilege rank (to keep the most privileged
targets when a wildcard names more than the cap).
"""

from __future__ import annotations

import bisect
import dataclasses
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from nhiscan.analyze import privilege_aws
from nhiscan.analyze.aws_policy import ANY_TEXT, names_action, split_grants, statement_matches
from nhiscan.analyze.graph import conditions
from nhiscan.model import Grant, Identity, Inventory

# At most this many edges of one technique from one identity (the most privileged targets first);
# past it, one identity's edges are also kept to one per target (edges_aws._bounded).
EDGE_CAP = 32
ADMIN_RANK = 5
_RANK = {"admin": ADMIN_RANK, "escalation": 4, "write": 3, "read": 2, "none": 1}


@dataclass(frozen=True, slots=True)
class Allowed:
    """An allowed call: the statements that allow it, and what it depends on if undecided."""

    via: str
    condition: str = ""

    @property
    def conditional(self) -> bool:
        return bool(self.condition)


def _resource_blind(g: Grant, action: str) -> bool:
    """Whether ``statement_matches(g, action, r)`` is the same for every resource ARN ``r``: the
    statement does not name the action, or names it on ``*`` (or on nothing, or on all but ``*``)."""
    if not names_action(g, action, ANY_TEXT):
        return True
    if g.not_resources:
        return "*" in g.not_resources
    return not g.resources or "*" in g.resources


def account_of(arn: str) -> str:
    parts = arn.split(":", 5)
    return parts[4] if len(parts) > 4 else ""


def join_conditions(*parts: str) -> str:
    return "; ".join(dict.fromkeys(p for p in parts if p))


def witness(pattern: str, account: str = "") -> str:
    """A concrete resource a Resource pattern names (its wildcards filled): "can it be done
    somewhere". A wildcard account field becomes ``account`` (the caller's own)."""
    parts = pattern.split(":", 5)
    if account and len(parts) == 6 and any(c in parts[4] for c in "*?$"):
        parts[4] = account
        pattern = ":".join(parts)
    out = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("${", i) and "}" in pattern[i:]:
            i = pattern.index("}", i) + 1
            out.append("x")
            continue
        ch = pattern[i]
        out.append("x" if ch in "*?" else ch)
        i += 1
    return "".join(out)


_USERNAME = re.compile(r"\$\{aws:username\}", re.IGNORECASE)


def _bind(grants: Sequence[Grant], ident: Identity) -> tuple[Grant, ...]:
    """The statements with ``${aws:username}`` in a Resource set to the user's name (for a role the
    variable has no value, so the resource names nothing)."""
    out = []
    value = ident.name if ident.kind == "aws-iam-user" else "\x00no-user\x00"
    for g in grants:
        if any("${" in r for r in (*g.resources, *g.not_resources)):
            g = dataclasses.replace(
                g,
                resources=tuple(_USERNAME.sub(value, r) for r in g.resources),
                not_resources=tuple(_USERNAME.sub(value, r) for r in g.not_resources),
            )
        out.append(g)
    return tuple(out)


class Actor:
    """One identity's statements, decided for calls it makes."""

    def __init__(self, ident: Identity, as_of: datetime) -> None:
        self.ident = ident
        self.as_of = as_of
        own, boundary = split_grants(ident.grants)
        self.own, self.boundary = _bind(own, ident), _bind(boundary, ident)
        self._ctx: dict[str, dict[str, Any]] = {}
        self._somewhere: dict[str, Allowed | None] = {}
        # per action: whether every statement naming it covers any resource alike (``*``), so its
        # answer on a resource depends only on that resource's account (the conditions' context)
        self._uniform: dict[str, bool] = {}
        self._answers: dict[tuple[str, str, str | None], Allowed | None] = {}

    def context(self, resource_account: str, service: str | None = None) -> dict[str, Any]:
        key = f"{resource_account}|{service}"
        ctx = self._ctx.get(key)
        if ctx is None:
            attrs = self.ident.attributes
            ctx = self._ctx[key] = conditions.context_for(
                self.as_of,
                principal_account=self.ident.scope,
                principal_arn=self.ident.id,
                username=self.ident.name if self.ident.kind == "aws-iam-user" else None,
                resource_account=resource_account or None,
                principal_org_id=str(attrs.get("organization_id") or "") or None,
            )
            if service:  # iam:PassRole asks which service the role is passed to
                ctx["iam:passedtoservice"] = service
        return ctx

    def _decide_set(
        self, grants: Sequence[Grant], action: str, resource: str, ctx: Mapping[str, Any]
    ) -> Allowed | None:
        plain: list[str] = []
        cond: list[tuple[str, str]] = []
        maybe_denied: list[str] = []
        for g in grants:
            if not statement_matches(g, action, resource, ANY_TEXT):
                continue
            answer = conditions.evaluate(g.condition, ctx)
            if answer == conditions.FALSE:
                continue
            if g.effect.lower() == "deny":
                if answer == conditions.TRUE:
                    return None
                what = conditions.undecided(g.condition, ctx)
                maybe_denied.append(f"not denied by {g.via} ({what})")
                continue
            if g.effect.lower() != "allow":
                continue
            if answer == conditions.TRUE:
                plain.append(g.via)
            else:
                cond.append((g.via, conditions.undecided(g.condition, ctx)))
        if plain:
            return Allowed(", ".join(dict.fromkeys(plain)), join_conditions(*maybe_denied))
        if cond:
            via = ", ".join(dict.fromkeys(v for v, _ in cond))
            # any one of the conditioned Allows suffices
            either = " or ".join(dict.fromkeys(c for _, c in cond))
            return Allowed(via, join_conditions(either, *maybe_denied))
        return None

    def can(self, action: str, resource: str = "*", service: str | None = None) -> Allowed | None:
        """Whether the identity may call ``action`` on ``resource`` (Deny, boundary, conditions);
        ``service``: the service principal a role is passed to (``iam:PassedToService``).

        Statements that name the action on ``*`` only answer alike for every resource of one
        account: the answer is decided once per (action, account, service), not once per target."""
        if resource == "*":
            return self._can(action, resource, service)
        uniform = self._uniform.get(action)
        if uniform is None:
            uniform = self._uniform[action] = all(
                _resource_blind(g, action) for g in (*self.own, *self.boundary)
            )
        if not uniform:
            return self._can(action, resource, service)
        key = (action, account_of(resource), service)
        if key in self._answers:
            return self._answers[key]
        got = self._answers[key] = self._can(action, resource, service)
        return got

    def _can(self, action: str, resource: str, service: str | None) -> Allowed | None:
        ctx = self.context(account_of(resource) if resource != "*" else self.ident.scope, service)
        got = self._decide_set(self.own, action, resource, ctx)
        if got is None or not self.boundary:
            return got
        cap = self._decide_set(self.boundary, action, resource, ctx)
        if cap is None:
            return None
        return Allowed(got.via, join_conditions(got.condition, cap.condition))

    def can_somewhere(self, action: str) -> Allowed | None:
        """Whether the identity may call ``action`` on some resource: on ``*`` or else on a resource
        one of its Allow statements names (for actions whose target the export does not hold)."""
        if action in self._somewhere:
            return self._somewhere[action]
        got = self._somewhere[action] = self._can_somewhere(action)
        return got

    def _can_somewhere(self, action: str) -> Allowed | None:
        got = self.can(action, "*")
        if got is not None:
            return got
        for g in self.own:
            if g.effect.lower() != "allow" or not names_action(g, action, ANY_TEXT):
                continue
            for pattern in g.resources:
                got = self.can(action, witness(pattern, self.ident.scope))
                if got is not None:
                    return got
        return None

    def patterns(self, action: str) -> tuple[bool, list[str]]:
        """The Resource patterns of the Allow statements that name ``action``: (covers every
        resource, the patterns)."""
        out: list[str] = []
        for g in self.own:
            if g.effect.lower() != "allow" or not names_action(g, action, ANY_TEXT):
                continue
            if g.not_resources or "*" in g.resources:
                return True, []
            out.extend(g.resources)
        return False, out


def mask_of(grants: Sequence[Grant], actions: Sequence[str], cache: dict[tuple[Any, ...], int]) -> int:
    """Bit i set when some Allow statement names ``actions[i]`` (on any resource): which
    techniques are worth deciding at all. Each distinct statement is matched once per scan."""
    bits = 0
    for g in grants:
        if g.effect.lower() != "allow" or g.boundary:
            continue
        key = (g.actions, g.not_actions)
        hit = cache.get(key)
        if hit is None:
            hit = 0
            for i, action in enumerate(actions):
                if names_action(g, action, ANY_TEXT):
                    hit |= 1 << i
            cache[key] = hit
        bits |= hit
    return bits


class Index:
    """The inventory's AWS identities, looked up by what policies and trusts name."""

    def __init__(self, inventory: Inventory, as_of: datetime) -> None:
        self.as_of = as_of
        self.by_id: dict[str, Identity] = {}
        self.arns: dict[str, list[str]] = {"user": [], "role": []}
        self.policy_holders: dict[str, list[str]] = {}
        self.policies_of: dict[str, list[str]] = {}
        self.group_members: dict[tuple[str, str], list[str]] = {}
        self.group_grants: dict[tuple[str, str], list[Grant]] = {}
        self.paths: dict[str, str] = {}
        # an edge's path: the account's authorization-details export (else any export of it)
        for src in sorted(inventory.sources, key=lambda r: r.kind != "aws-gaad"):
            if src.scope and src.path:
                self.paths.setdefault(src.scope, src.path)
        for ident in inventory.identities:
            if ident.provider != "aws" or ident.kind not in ("aws-iam-user", "aws-iam-role"):
                continue
            if not isinstance(ident.id, str) or ident.id in self.by_id:
                continue
            self.by_id[ident.id] = ident
            self.arns["user" if ident.kind == "aws-iam-user" else "role"].append(ident.id)
            try:
                self._policies(ident)
            except (TypeError, AttributeError, ValueError):
                continue  # odd attributes: the identity stays a target, its policies unindexed
        for arns in self.arns.values():
            arns.sort()
        self._memo: dict[str, Any] = {}
        self._rank: dict[str, int] = {}
        self._ranked: dict[str, list[str]] = {}
        self._admin_groups: list[tuple[str, str]] | None = None

    def _policies(self, ident: Identity) -> None:
        seen: set[str] = set()
        groups_seen: set[str] = set()
        for g in ident.grants:
            if g.boundary:
                continue
            if g.inherited_from:
                key = (ident.scope, g.inherited_from)
                if g.inherited_from not in groups_seen:
                    groups_seen.add(g.inherited_from)
                    self.group_members.setdefault(key, []).append(ident.id)
                    if key not in self.group_grants:  # a group's statements, from its first member
                        self.group_grants[key] = self._group_grants_of(ident, g.inherited_from)
            if g.via.startswith("managed:") and g.via[len("managed:") :] not in seen:
                seen.add(g.via[len("managed:") :])
        for arn in ident.attributes.get("unresolved_policies") or ():
            if isinstance(arn, str) and arn.startswith("arn:"):
                seen.add(arn)
        for arn in sorted(seen):
            self.policy_holders.setdefault(arn, []).append(ident.id)
        if seen:
            self.policies_of[ident.id] = sorted(seen)
        for group in ident.attributes.get("groups") or ():
            key = (ident.scope, str(group))
            if group not in groups_seen:
                self.group_members.setdefault(key, []).append(ident.id)
                groups_seen.add(group)

    @staticmethod
    def _group_grants_of(ident: Identity, group: str) -> list[Grant]:
        return [g for g in ident.grants if g.inherited_from == group and not g.boundary]

    def path_of(self, ident: Identity) -> str | None:
        return self.paths.get(ident.scope)

    def rank(self, ident_id: str) -> int:
        r = self._rank.get(ident_id)
        if r is None:
            ident = self.by_id.get(ident_id)
            try:
                level = privilege_aws.assess(ident, self._memo).level if ident else "none"
            except (TypeError, AttributeError, ValueError):
                level = "none"
            r = self._rank[ident_id] = _RANK.get(level, 0)
        return r

    def admin_unbounded(self, ident: Identity) -> bool:
        """Whether the identity's own policies, without its permissions boundary, are admin."""
        own = tuple(g for g in ident.grants if not g.boundary)
        return privilege_aws.assess(dataclasses.replace(ident, grants=own), self._memo).level == "admin"

    def admin_groups(self, scope: str) -> list[tuple[str, str]]:
        """The groups of an account whose own statements are admin-equivalent (known from members)."""
        if self._admin_groups is None:
            self._admin_groups = sorted(k for k in self.group_grants if self.group_admin(*k))
        return [k for k in self._admin_groups if k[0] == scope]

    def group_admin(self, scope: str, group: str) -> bool:
        grants = self.group_grants.get((scope, group))
        if not grants:
            return False
        probe = Identity(
            id=f"group:{group}",
            provider="aws",
            kind="aws-iam-group",
            name=group,
            scope=scope,
            grants=tuple(grants),
        )
        return privilege_aws.assess(probe, self._memo).level == "admin"

    def ranked(self, kind: str) -> list[str]:
        """Every ARN of ``kind``, most privileged first (ranked once per scan)."""
        ranked = self._ranked.get(kind)
        if ranked is None:
            ranked = self._ranked[kind] = sorted(self.arns.get(kind, ()), key=lambda a: (-self.rank(a), a))
        return ranked

    def candidates(self, actor: Actor, action: str, kind: str) -> Iterator[Identity]:
        """Identities of ``kind`` ("user" or "role") some Allow of ``actor`` for ``action`` names,
        most privileged first; each still to be decided with ``actor.can``."""
        everything, patterns = actor.patterns(action)
        arns = self.arns[kind]
        if everything:  # ranked once per kind, not once per actor
            for arn in self.ranked(kind):
                yield self.by_id[arn]
            return
        found: set[str] = set()
        for p in patterns:
            cut = min((p.find(c) for c in "*?$" if c in p), default=-1)
            if cut < 0:
                if p in self.by_id:
                    found.add(p)
                continue
            prefix = p[:cut]
            i = bisect.bisect_left(arns, prefix)
            while i < len(arns) and arns[i].startswith(prefix):
                found.add(arns[i])
                i += 1
        for arn in sorted(found, key=lambda a: (-self.rank(a), a)):
            yield self.by_id[arn]
