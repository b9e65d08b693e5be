"""AWS role assumption: A -> role R when A may call ``sts:AssumeRole`` on R and R's trust admits A.

AWS's rules, as applied here (IAM User Guide, "Policy evaluation logic" and "Cross-account
policy evaluation logic"):

- **Same account, trust names the principal's ARN** (``arn:aws:iam::111122223333:user/ci``, a role
  ARN, or one of the role's ``assumed-role`` session ARNs): the trust alone grants the call; the
  identity policy need not allow it. An explicit Deny of ``sts:AssumeRole`` on R in the principal's
  policies or permissions boundary still blocks it, and a role named by its role ARN is still
  capped by its permissions boundary (a user is not).
- **Trust names the account** (``arn:aws:iam::111122223333:root`` or ``111122223333``) or every
  principal (``*``): the trust delegates to the account, so the principal's identity policy must
  allow ``sts:AssumeRole`` on R's ARN too (explicit Deny and permissions boundaries applied by
  ``aws_policy``).
- **Cross-account**: always both, the trust (naming the principal or its account) and the identity
  policy.
- Service principals (``Service``) and federated principals (``Federated``: OIDC, SAML) are not
  identity-to-identity edges here; CI workflows get theirs from ``edges_ci``.

A condition in the trust (or a conditioned Allow in the identity policy) that cannot be decided from
the export makes the edge ``conditional``, with the condition said. ``condition_verdict`` is the
single hook where evaluation of known values (dates, account and organization ids) plugs in: it
answers ``allow`` (the condition holds: a plain edge), ``deny`` (no edge) or ``unknown``.

Linear in the inventory: roles are indexed by ARN and by (account, name), principals by ARN, and
each role's trust is read once, recording which accounts it names. A principal whose policy names
exact role ARNs costs one lookup per ARN; one whose policy holds a pattern (``*``,
``role/team-*``) is matched only against the roles whose trust names its account or every
principal, so an identity allowed ``sts:AssumeRole`` on ``*`` is never crossed with every role and
every statement: only with the roles that could admit it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from nhiscan.analyze.aws_policy import (
    Decision,
    any_action,
    evaluate_set,
    evaluate_split,
    has_wildcard,
    on_resource,
    split_grants,
)
from nhiscan.analyze.aws_policy import any_resource as _on
from nhiscan.analyze.graph.edge import Edge
from nhiscan.model import Grant, Identity, Inventory, Trust

KIND = "aws-assume-role"
ACTION = "sts:AssumeRole"
_ACCOUNT = re.compile(r"\A\d{12}\Z")
_ARN = re.compile(r"\Aarn:aws[a-z-]*:(iam|sts)::(\d{12}):(.+)\Z")


def condition_verdict(
    conditions: Mapping[str, Any], source: Identity, role: Identity, as_of: datetime
) -> str:
    """``allow``, ``deny`` or ``unknown`` for a trust statement's Condition block and this caller.

    Decided by ``conditions.py`` where the export knows the keys' values (``aws:CurrentTime``
    against ``as_of``, the caller's account, ARN and user name, the role's account, the caller's
    organization id when given); anything else keeps the edge ``conditional``.
    """
    from nhiscan.analyze.graph import conditions as iam

    ctx = iam.context_for(
        as_of,
        principal_account=_account(source),
        principal_arn=source.id,
        username=source.name if source.kind == "aws-iam-user" else None,
        resource_account=_account(role),
        principal_org_id=str(source.attributes.get("organization_id") or "") or None,
    )
    return {"true": "allow", "false": "deny"}.get(iam.evaluate(conditions, ctx), "unknown")


def say_condition(conditions: Mapping[str, Any]) -> str:
    """A Condition block for people, without its values: ``StringEquals sts:ExternalId``."""
    parts = []
    for op, body in conditions.items():
        if op == "nhiscan:NotPrincipal":
            parts.append("NotPrincipal (every principal except those listed)")
            continue
        keys = ", ".join(str(k) for k in body) if isinstance(body, Mapping) else ""
        parts.append(f"{op} {keys}".strip())
    return "; ".join(parts)


@dataclass
class _Admits:
    """What one role's trust admits to ``sts:AssumeRole``, each with its conditions (None: none)."""

    arns: dict[str, list[Mapping[str, Any] | None]] = field(default_factory=dict)
    accounts: dict[str, list[Mapping[str, Any] | None]] = field(default_factory=dict)
    anyone: list[Mapping[str, Any] | None] = field(default_factory=list)
    deny_anyone: list[Mapping[str, Any] | None] = field(default_factory=list)
    deny_accounts: dict[str, list[Mapping[str, Any] | None]] = field(default_factory=dict)
    deny_arns: dict[str, list[Mapping[str, Any] | None]] = field(default_factory=dict)


def _assume_action(t: Trust) -> bool:
    return not t.actions or any_action(tuple(t.actions), ACTION)


def _read_trust(role: Identity, role_names: Mapping[tuple[str, str], str]) -> _Admits:
    out = _Admits()
    for t in role.trusts:
        if not _assume_action(t):
            continue
        deny = t.effect.lower() == "deny"
        cond: Mapping[str, Any] | None = dict(t.conditions) if t.conditions else None
        if t.principal_type == "*" or (t.principal_type == "AWS" and t.principal == "*"):
            (out.deny_anyone if deny else out.anyone).append(cond)
            continue
        if t.principal_type != "AWS":
            continue  # Service, Federated, CanonicalUser: not identity-to-identity
        p = str(t.principal).strip()
        if _ACCOUNT.match(p):
            (out.deny_accounts if deny else out.accounts).setdefault(p, []).append(cond)
            continue
        m = _ARN.match(p)
        if not m:
            continue  # a unique id (AROA...): the named principal was deleted
        service, account, rest = m.groups()
        if rest == "root":
            (out.deny_accounts if deny else out.accounts).setdefault(account, []).append(cond)
            continue
        if service == "sts" and rest.startswith("assumed-role/"):
            name = rest.split("/")[1] if rest.count("/") >= 1 else ""
            arn = role_names.get((account, name))
            if arn is None:
                continue
            p = arn
        (out.deny_arns if deny else out.arns).setdefault(p, []).append(cond)
    return out


@dataclass
class _Principal:
    ident: Identity
    account: str
    own: tuple[Grant, ...]  # the statements that could name sts:AssumeRole (the others cannot matter)
    boundary: tuple[Grant, ...]  # the same of the permissions boundary
    has_boundary: bool
    patterns: tuple[str, ...]  # Resource patterns of the Allows that name sts:AssumeRole

    def decide(self, resource: str) -> Decision:
        """aws_policy's decision for sts:AssumeRole on ``resource``, over the statements already
        known to name the action (so only their resources are matched)."""
        return evaluate_split(self.own, self.boundary, None, resource, bounded=self.has_boundary)


def _could_name(pattern: str) -> bool:
    """Whether an Action pattern could match sts:AssumeRole, from its service part alone."""
    service = pattern.split(":", 1)[0]
    return service.lower() == "sts" or any(c in service for c in "*?$")


def _names_assume(patterns: tuple[str, ...], cache: dict[tuple[str, ...], bool]) -> bool:
    """any_action(patterns, sts:AssumeRole), without compiling the action lists of statements
    that name no STS action (a managed policy of hundreds of actions would be compiled for nothing)."""
    hit = cache.get(patterns)
    if hit is None:
        hit = cache[patterns] = any(_could_name(p) for p in patterns) and any_action(patterns, ACTION)
    return hit


def _relevant(g: Grant, cache: dict[tuple[str, ...], bool]) -> bool:
    if g.actions:
        return _names_assume(g.actions, cache)
    return bool(g.not_actions) and not _names_assume(g.not_actions, cache)


def _principal(ident: Identity, cache: dict[tuple[str, ...], bool]) -> _Principal:
    own, boundary = split_grants(ident.grants)
    own_rel = tuple(g for g in own if _relevant(g, cache))
    patterns: list[str] = []
    for g in own_rel:
        if g.effect.lower() == "allow":
            patterns.extend(("*",) if g.not_resources else g.resources)
    return _Principal(
        ident,
        _account(ident),
        own_rel,
        tuple(g for g in boundary if _relevant(g, cache)),
        bool(boundary),
        tuple(dict.fromkeys(patterns)),
    )


def _account(ident: Identity) -> str:
    m = _ARN.match(ident.id)
    return m.group(2) if m else ident.scope


def _explicit_deny(grants: Sequence[Grant], resource: str) -> bool:
    return any(g.effect.lower() == "deny" and not g.condition and on_resource(g, resource) for g in grants)


def _worst(conds: list[Mapping[str, Any] | None]) -> Mapping[str, Any] | bool | None:
    """Of several statements admitting the same principal: None when one has no condition,
    else the first conditions (False when the list is empty)."""
    if not conds:
        return False
    if any(c is None for c in conds):
        return None
    return conds[0]


def edges(inventory: Inventory, as_of: datetime) -> Iterator[Edge]:
    aws = [i for i in inventory.identities if i.provider == "aws"]
    roles = [i for i in aws if i.kind == "aws-iam-role" and i.trusts]
    if not roles:
        return
    files = {s.scope: s.path for s in inventory.sources if s.kind == "aws-gaad" and s.scope}
    role_names = {(_account(r), r.name): r.id for r in aws if r.kind == "aws-iam-role"}
    cache: dict[tuple[str, ...], bool] = {}
    by_id = {i.id: i for i in aws if i.kind in ("aws-iam-user", "aws-iam-role")}
    principals: dict[str, _Principal] = {}
    capable: list[_Principal] = []  # principals with an sts:AssumeRole Allow
    for ident in by_id.values():
        p = _principal(ident, cache)
        if p.patterns:
            principals[ident.id] = p
            capable.append(p)
    # 1. each role's trust read once; principals it names by ARN
    admitted: dict[str, tuple[Identity, _Admits, str | None]] = {}
    # account -> roles whose trust names the account: in that account, and in others
    trusting_same: dict[str, list[str]] = {}
    trusting_other: dict[str, list[str]] = {}
    anyone: list[str] = []  # roles whose trust admits every principal
    done: set[tuple[str, str]] = set()
    for role in roles:
        admits = _read_trust(role, role_names)
        path = files.get(_account(role)) or files.get(role.scope)
        admitted[role.id] = (role, admits, path)
        for acct in admits.accounts:
            (trusting_same if acct == _account(role) else trusting_other).setdefault(acct, []).append(role.id)
        if admits.anyone:
            anyone.append(role.id)
        for arn in sorted(admits.arns):
            named = principals.get(arn)
            if named is None and arn in by_id:
                named = principals[arn] = _principal(by_id[arn], cache)
            if named is None or arn == role.id:
                continue
            done.add((arn, role.id))
            e = _edge(named, role, admits, _worst(admits.arns[arn]), f"names {arn}", path, as_of, direct=True)
            if e is not None:
                yield e
    # 2. principals whose policy allows sts:AssumeRole, against the roles that trust their account
    # (or everyone): an exact ARN in the policy is one lookup; a pattern is matched against those
    # roles only, never against every role of the inventory
    memo: dict[str, Any] = {}  # privilege evaluation, per distinct statement (privilege_aws)
    ranked: dict[int, list[str]] = {}  # a candidate list, most privileged roles first (once each)

    def most_privileged(ids: list[str]) -> list[str]:
        got = ranked.get(id(ids))
        if got is None:
            got = ranked[id(ids)] = sorted(ids, key=lambda r: (_RANK.get(_level(by_id[r], memo), 9), r))
        return got

    for p in capable:
        wild = any(has_wildcard(pat) for pat in p.patterns)
        if wild:
            # an admin of the account can already become every identity in it (it can rewrite any
            # trust policy): only its roles in other accounts are edges worth having
            own_account = not _is_admin(p.ident, memo)
            lists = [
                trusting_same.get(p.account, []) if own_account else [],
                trusting_other.get(p.account, []),
                anyone,
            ]
            candidates = [r for ids in lists if ids for r in most_privileged(ids)[:WILD_LOOK]]
        else:
            own_account = True
            candidates = [arn for arn in p.patterns if arn in admitted]
        made = 0
        for role_id in dict.fromkeys(candidates):
            if (p.ident.id, role_id) in done or p.ident.id == role_id:
                continue
            role, admits, path = admitted[role_id]
            if not own_account and _account(role) == p.account:
                continue
            if not _on(p.patterns, role_id):
                continue
            conds = admits.accounts.get(p.account)
            how = f"names account {p.account}"
            if conds is None or (
                admits.anyone and _worst(admits.anyone) is None and _worst(conds) is not None
            ):
                conds, how = admits.anyone, "admits every principal (*)"
            e = _edge(p, role, admits, _worst(conds), how, path, as_of, direct=False)
            if e is not None:
                done.add((p.ident.id, role_id))
                yield e
                made += 1
                if wild and made >= WILD_CAP:
                    break


# A policy pattern (``*``, ``role/team-*``) may admit thousands of roles that trust the caller's
# account: the principal keeps edges to the WILD_CAP most privileged of the WILD_LOOK most
# privileged roles of each candidate list. Without the bound, an organization of 20 accounts of
# 50,000 identities held a hundred million edges (every admin of one account to every role of the
# others trusting it); the paths to admin, which start at the most privileged roles, are kept.
WILD_CAP = 32
WILD_LOOK = 256
_RANK = {"admin": 0, "escalation": 1, "write": 2, "read": 3, "none": 4, "unknown": 5}


def _level(ident: Identity, memo: dict[str, Any]) -> str:
    from nhiscan.analyze.privilege_aws import assess

    return assess(ident, memo).level


def _is_admin(ident: Identity, memo: dict[str, Any]) -> bool:
    from nhiscan.analyze.privilege_aws import assess

    return assess(ident, memo).level == "admin"


def _edge(
    p: _Principal,
    role: Identity,
    admits: _Admits,
    cond: Mapping[str, Any] | bool | None,
    how: str,
    path: str | None,
    as_of: datetime,
    *,
    direct: bool,
) -> Edge | None:
    if cond is False:
        return None
    same_account = p.account == _account(role)
    conditions: list[str] = []
    # the trust's own condition
    if isinstance(cond, Mapping):
        verdict = condition_verdict(cond, p.ident, role, as_of)
        if verdict == "deny":
            return None
        if verdict != "allow":
            conditions.append(f"trust condition {say_condition(cond)}")
    # the trust's Deny statements
    for deny_conds in (
        admits.deny_anyone,
        admits.deny_accounts.get(p.account, []),
        admits.deny_arns.get(p.ident.id, []),
    ):
        for dc in deny_conds:
            if dc is None:
                return None
            verdict = condition_verdict(dc, p.ident, role, as_of)
            if verdict == "allow":
                return None
            if verdict == "unknown":
                conditions.append(f"unless the trust's Deny applies ({say_condition(dc)})")
    # the caller's side
    decision = p.decide(role.id)
    trust_text = f"trust policy of {role.name} {how}"
    if direct and same_account:
        if _explicit_deny((*p.own, *p.boundary), role.id):
            return None
        if p.ident.kind == "aws-iam-role" and p.has_boundary:
            cap = evaluate_set(p.boundary, None, role.id)
            if not cap:
                return None
            if cap.conditional:
                conditions.append("the permissions boundary allows sts:AssumeRole only under a condition")
        if decision:
            via = f"{ACTION} on {role.id} allowed by {', '.join(decision.via)}; {trust_text}"
        else:
            via = f"{trust_text} (same account: no identity policy needed)"
    else:
        if not decision:
            return None
        if decision.conditional:
            conditions.append("the identity policy allows sts:AssumeRole only under a condition")
        via = f"{ACTION} on {role.id} allowed by {', '.join(decision.via)}; {trust_text}"
    return Edge(
        source=p.ident.id,
        target=role.id,
        kind=KIND,
        via=via,
        path=path,
        conditional=bool(conditions),
        condition="; ".join(conditions),
    )
