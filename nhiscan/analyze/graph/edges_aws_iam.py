"""IAM-only techniques: minting another user's credentials, rewriting a role's trust, and writing
permissions onto oneself (the self-edge, see ``edges_aws``).

- ``aws-create-access-key`` / ``aws-create-login-profile`` / ``aws-update-login-profile``:
  A → user U when A may call the action on U's ARN. Creating a login profile fails when U already
  has a console password (no edge); updating one needs a password (conditional when the export
  shows none); a third access key needs one of U's two deleted (conditional unless A may
  ``iam:DeleteAccessKey`` on U).
- ``aws-update-assume-role-policy``: A → role R when A may rewrite R's trust policy: a trust that
  names A's ARN lets A assume R in R's account with no identity-policy permission.
- ``aws-self-modify`` (A → A): A may write permissions that apply to itself — an inline or attached
  policy on its own user or role, a new default version of a customer-managed policy it holds
  (``policy/team-*`` covers it), a policy on one of its groups, joining an admin-equivalent group,
  or creating a role (or user) it then attaches a policy to, or removing (replacing) the permissions
  boundary that alone keeps it from admin. The same writes on a target T that A
  already reaches by an edge of this module (it can mint T's keys, pass T to compute, rewrite T's
  trust) count too: A gets T's new permissions through that edge. ``SetDefaultPolicyVersion`` is
  conditional: the inventory holds only a policy's default version.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from nhiscan.analyze.graph.edge import Edge
from nhiscan.analyze.graph.edges_aws_eval import EDGE_CAP, Actor, Allowed, Index, join_conditions, witness
from nhiscan.model import Identity

SELF = "aws-self-modify"
MINT = (
    ("aws-create-access-key", "iam:CreateAccessKey"),
    ("aws-create-login-profile", "iam:CreateLoginProfile"),
    ("aws-update-login-profile", "iam:UpdateLoginProfile"),
)
USER_WRITE = ("iam:PutUserPolicy", "iam:AttachUserPolicy")
ROLE_WRITE = ("iam:PutRolePolicy", "iam:AttachRolePolicy")
GROUP_WRITE = ("iam:PutGroupPolicy", "iam:AttachGroupPolicy")
POLICY_WRITE = ("iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion")
# removing (or replacing) the boundary that alone keeps an identity from admin
USER_BOUNDARY = ("iam:DeleteUserPermissionsBoundary", "iam:PutUserPermissionsBoundary")
ROLE_BOUNDARY = ("iam:DeleteRolePermissionsBoundary", "iam:PutRolePermissionsBoundary")
ACTIONS: tuple[str, ...] = (
    *(a for _, a in MINT),
    "iam:DeleteAccessKey",
    "iam:UpdateAssumeRolePolicy",
    *USER_WRITE,
    *ROLE_WRITE,
    *GROUP_WRITE,
    *POLICY_WRITE,
    *USER_BOUNDARY,
    *ROLE_BOUNDARY,
    "iam:AddUserToGroup",
    "iam:CreateRole",
    "iam:CreateUser",
)
# what makes a self-edge, and what starts any edge of this module
WRITES = frozenset(
    (
        *USER_BOUNDARY,
        *ROLE_BOUNDARY,
        *USER_WRITE,
        *ROLE_WRITE,
        *GROUP_WRITE,
        *POLICY_WRITE,
        "iam:AddUserToGroup",
        "iam:CreateRole",
        "iam:CreateUser",
    )
)
STARTS = WRITES | {a for _, a in MINT} | {"iam:UpdateAssumeRolePolicy"}
_NOT_PRESENT = (
    "only if a non-default version of {p} grants more (the inventory holds only the default version)"
)


@dataclass(frozen=True)
class _Write:
    action: str
    resource: str
    allowed: Allowed
    reached: Edge | None  # the edge through which A holds the target; None: the target is A


def mint_edges(index: Index, actor: Actor, has: set[str]) -> Iterator[Edge]:
    me = actor.ident
    path = index.path_of(me)
    for kind, action in MINT:
        if action not in has:
            continue
        count = 0
        for user in index.candidates(actor, action, "user"):
            if user.id == me.id or user.scope != me.scope:
                continue  # IAM calls act in the caller's account; one's own keys add nothing
            got = actor.can(action, user.id)
            if got is None:
                continue
            extra = _mint_condition(actor, kind, user)
            if extra is None:
                continue
            cond = join_conditions(got.condition, extra)
            yield Edge(me.id, user.id, kind, f"{action} on {user.id} ({got.via})", path, bool(cond), cond)
            count += 1
            if count >= EDGE_CAP:
                break


def _mint_condition(actor: Actor, kind: str, user: Identity) -> str | None:
    password = any(c.kind == "aws-console-password" for c in user.credentials)
    if kind == "aws-create-login-profile":
        return None if password else ""
    if kind == "aws-update-login-profile":
        return "" if password else f"only if {user.name} has a console password (the export shows none)"
    keys = sum(1 for c in user.credentials if c.kind == "aws-access-key")
    if keys >= 2 and actor.can("iam:DeleteAccessKey", user.id) is None:
        return f"only if one of {user.name}'s two access keys is deleted first"
    return ""


def trust_edges(index: Index, actor: Actor, has: set[str]) -> Iterator[Edge]:
    if "iam:UpdateAssumeRolePolicy" not in has:
        return
    me = actor.ident
    count = 0
    for role in index.candidates(actor, "iam:UpdateAssumeRolePolicy", "role"):
        if role.id == me.id or role.scope != me.scope or role.attributes.get("service_linked"):
            continue
        got = actor.can("iam:UpdateAssumeRolePolicy", role.id)
        if got is None:
            continue
        yield Edge(
            me.id,
            role.id,
            "aws-update-assume-role-policy",
            f"iam:UpdateAssumeRolePolicy on {role.id} ({got.via})",
            index.path_of(me),
            got.conditional,
            got.condition,
        )
        count += 1
        if count >= EDGE_CAP:
            return


def self_edges(index: Index, actor: Actor, has: set[str], reached: Iterable[Edge]) -> Iterator[Edge]:
    """At most one self-edge: by the surest writing call (unconditional first), naming the others."""
    best: dict[str, _Write] = {}
    holders: list[tuple[Identity, Edge | None]] = [(actor.ident, None)]
    seen = {actor.ident.id}
    for e in reached:
        if e.target not in seen and e.target in index.by_id:
            seen.add(e.target)
            holders.append((index.by_id[e.target], e))
    for target, via_edge in holders:
        for w in _writes(index, actor, has, target, via_edge):
            old = best.get(w.action)
            if old is None or (_conditional(old) and not _conditional(w)):
                best[w.action] = w
    for w in _group_joins(index, actor, has):
        best.setdefault(w.action, w)
    for w in _creations(actor, has):
        best.setdefault(w.action, w)
    me = actor.ident
    made: list[tuple[bool, str, str, str]] = []  # (conditional, action, via, condition)
    for action, w in best.items():
        via = f"{action} on {w.resource} ({w.allowed.via})"
        cond = w.allowed.condition
        if w.reached is not None:
            via += f", which {me.name} reaches by {w.reached.kind}"
            cond = join_conditions(cond, w.reached.condition)
        if action == "iam:SetDefaultPolicyVersion":
            cond = join_conditions(cond, _NOT_PRESENT.format(p=w.resource))
        made.append((bool(cond), action, via, cond))
    if not made:
        return
    made.sort()
    _, _, via, cond = made[0]  # one self-edge: the surest way, the others named
    others = [action for _, action, _, _ in made[1:]]
    if others:
        via += "; also " + ", ".join(others)
    yield Edge(me.id, me.id, SELF, via, index.path_of(me), bool(cond), cond)


def _conditional(w: _Write) -> bool:
    return w.allowed.conditional or (w.reached is not None and w.reached.conditional)


def _writes(
    index: Index, actor: Actor, has: set[str], target: Identity, reached: Edge | None
) -> Iterator[_Write]:
    is_user = target.kind == "aws-iam-user"
    on_target: tuple[str, ...] = USER_WRITE if is_user else ROLE_WRITE
    if target.attributes.get("permissions_boundary") and index.admin_unbounded(target):
        on_target = (*on_target, *(USER_BOUNDARY if is_user else ROLE_BOUNDARY))
    if not target.attributes.get("service_linked"):
        for action in on_target:
            if action in has and (got := actor.can(action, target.id)) is not None:
                yield _Write(action, target.id, got, reached)
    for policy in index.policies_of.get(target.id, ()):
        if ":aws:policy/" in policy:
            continue  # AWS-managed policies cannot be changed by an account
        for action in POLICY_WRITE:
            if action in has and (got := actor.can(action, policy)) is not None:
                yield _Write(action, policy, got, reached)
    for group in target.attributes.get("groups") or ():
        for action in GROUP_WRITE:
            if action in has and (hit := _on_group(actor, action, target.scope, str(group))) is not None:
                yield _Write(action, hit[0], hit[1], reached)


def _group_joins(index: Index, actor: Actor, has: set[str]) -> Iterator[_Write]:
    me = actor.ident
    if "iam:AddUserToGroup" not in has or me.kind != "aws-iam-user":
        return
    mine = set(me.attributes.get("groups") or ())
    for scope, group in index.admin_groups(me.scope):
        if group in mine:
            continue
        hit = _on_group(actor, "iam:AddUserToGroup", scope, group)
        if hit is not None:
            yield _Write("iam:AddUserToGroup", hit[0], hit[1], None)
            return


def _on_group(actor: Actor, action: str, scope: str, group: str) -> tuple[str, Allowed] | None:
    """``action`` on a group the export names only by its name (users' GroupList). Group names are
    unique in an account whatever their path, so besides ``group/<name>`` any group ARN of the
    account that an Allow names and that ends in ``/<name>`` is that group."""
    prefix = f"arn:aws:iam::{scope}:group/"
    arns = [prefix + group]
    _, patterns = actor.patterns(action)
    arns.extend(p for p in patterns if p.startswith(prefix) and p.endswith("/" + group) and "*" not in p)
    for arn in dict.fromkeys(arns):
        got = actor.can(action, arn)
        if got is not None:
            return arn, got
    return None


def _creations(actor: Actor, has: set[str]) -> Iterator[_Write]:
    """CreateRole (CreateUser) then a policy on it: a new principal with any permissions that
    trusts (or whose keys belong to) the creator. One resource must allow both calls."""
    scope = actor.ident.scope
    for create, kind, writes, extra in (
        ("iam:CreateRole", "role", ROLE_WRITE, ()),
        ("iam:CreateUser", "user", USER_WRITE, ("iam:CreateAccessKey",)),
    ):
        if create not in has or not any(w in has for w in writes):
            continue
        for arn in _witnesses(actor, scope, kind, (create, *writes)):
            made = actor.can(create, arn)
            write = next((g for w in writes if (g := actor.can(w, arn)) is not None), None)
            keys = [actor.can(a, arn) for a in extra]
            if made is None or write is None or any(k is None for k in keys):
                continue
            cond = join_conditions(made.condition, write.condition, *(k.condition for k in keys if k))
            yield _Write(create, arn, Allowed(f"{made.via}; then {write.via}", cond), None)
            break


def _witnesses(actor: Actor, scope: str, kind: str, actions: tuple[str, ...]) -> list[str]:
    out = [f"arn:aws:iam::{scope}:{kind}/nhiscan-new-{kind}"]
    for action in actions:
        _, patterns = actor.patterns(action)
        out.extend(witness(p, scope) for p in patterns)
    return list(dict.fromkeys(out))
