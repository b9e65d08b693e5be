"""IAM policy evaluation over an identity's grants, good enough to base findings on.

Semantics (the identity-policy part of AWS's evaluation logic):

- A statement matches a request when its Action (or NotAction) matches the action and its
  Resource (or NotResource) matches the resource. Actions match case-insensitively with ``*`` and
  ``?`` wildcards (``iam:Create*``, ``*``); resources match case-sensitively with the same wildcards.
  Policy variables (``${aws:username}``) are treated as matching anything of their segment
  (``variables=SEGMENT``; the escalation graph reads them as any text, see ``Variables``).
- An explicit Deny beats any Allow. Identity grants (inline, attached managed, group-inherited) are
  unioned. If the identity has a permissions boundary, an action is allowed only if the boundary
  allows it too (and the boundary does not deny it).
- Conditions are not evaluated (there is no request context offline). A conditioned Allow counts as
  *allowed with a condition* (``Decision.conditional``); a conditioned Deny is assumed not to apply.
  This errs towards reporting power an identity may have, and the finding says "with condition".
- ``resource="*"`` asks "on every resource": a statement scoped to a narrower ARN does not grant it,
  and a Deny on a narrower ARN does not revoke it.

This module holds the one IAM wildcard matcher (``wildcard_matches`` and the statement tests built
on it): the escalation graph (``graph/edges_aws_eval``) and its Condition values use it too.

Service control policies and resource policies are outside an account's IAM export and are not
considered.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

from nhiscan.model import Grant, Identity

_ANY = ".*"
_SEGMENT = "[^/]*"

# What a policy variable left unbound (``${aws:PrincipalTag/team}``) matches; the two readings
# differ on purpose, and every matcher below takes the reading as its ``variables`` parameter:
# - SEGMENT (findings and privilege levels, the default): one segment of the ARN, no "/";
# - ANY_TEXT (the escalation graph, which binds ``${aws:username}`` to the caller's name first):
#   any text, as ``*``, since a tag's value may hold "/" and an edge the policy may allow is kept.
# tests/graph/test_edges_aws.py pins the difference.
Variables = Literal["segment", "any"]
SEGMENT: Variables = "segment"
ANY_TEXT: Variables = "any"


def _tokens(pattern: str, variables: Variables) -> list[tuple[str, str]]:
    """The pattern as (kind, regex) runs: ``gap`` for ``*`` and policy variables, ``text`` between."""
    out: list[tuple[str, str]] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "$" and pattern.startswith("${", i) and "}" in pattern[i:]:
            out.append(("gap", _SEGMENT if variables == SEGMENT else _ANY))
            i = pattern.index("}", i) + 1
            continue
        out.append(("gap", _ANY) if ch == "*" else ("text", "." if ch == "?" else re.escape(ch)))
        i += 1
    return out


def _translate(pattern: str, names: Iterator[int], variables: Variables) -> str:
    """A wildcard pattern as a regex that cannot backtrack without end on a hostile policy.

    A plain translation (``*`` to ``.*``) costs time exponential in the number of stars on a text
    that almost matches (``s3:*a*a*a*a*a*a*b``: seconds per call). Here every piece between two
    gaps is placed at its leftmost possible position and never moved again (a lookahead captures
    the lazy gap and the piece, a backreference consumes exactly that): for ``*`` and ``?``
    patterns the leftmost placement of a middle piece is never worse, so the answer is the same and
    the cost is linear in the text per piece.
    """
    runs: list[tuple[str, str]] = []  # (gap before the piece, piece)
    gap, piece = "", ""
    for kind, rx in _tokens(pattern, variables):
        if kind == "gap":
            if piece:
                runs.append((gap, piece))
                gap, piece = "", ""
            gap = _ANY if _ANY in (gap, rx) else rx
        else:
            piece += rx
    runs.append((gap, piece))
    out: list[str] = []
    last = len(runs) - 1
    for i, (g, p) in enumerate(runs):
        if not g or i == last:
            out.append(g + p)  # the head is anchored; the tail's gap backtracks once, linearly
        else:
            name = f"g{next(names)}"
            out.append(f"(?=(?P<{name}>{g}?{p}))(?P={name})")
    return "".join(out)


@functools.lru_cache(maxsize=16384)
def _compiled(
    patterns: tuple[str, ...], ignore_case: bool, variables: Variables = SEGMENT
) -> re.Pattern[str]:
    """One regex for a whole Action/Resource list: a statement is matched with a single call."""
    names = itertools.count()
    body = "|".join(f"(?:{_translate(p, names, variables)})" for p in patterns) or "(?!)"
    return re.compile(f"(?:{body})\\Z", (re.IGNORECASE | re.DOTALL) if ignore_case else re.DOTALL)


def wildcard_matches(pattern: str, text: str, variables: Variables = SEGMENT) -> bool:
    """IAM wildcard matching (``*``, ``?``, policy variables), case-sensitive, in linear time."""
    return _compiled((pattern,), False, variables).match(text) is not None


def action_matches(pattern: str, action: str) -> bool:
    return _compiled((pattern,), True).match(action) is not None


def resource_matches(pattern: str, resource: str) -> bool:
    if pattern == "*":
        return True
    if resource == "*":
        return False
    return wildcard_matches(pattern, resource)


@functools.lru_cache(maxsize=65536)
def any_action(patterns: tuple[str, ...], action: str, variables: Variables = SEGMENT) -> bool:
    """Whether any of an Action (or NotAction) list's patterns matches ``action`` (remembered: the
    escalation graph asks the same few actions of the same statements again and again)."""
    return _compiled(patterns, True, variables).match(action) is not None


_any_action = any_action


def has_wildcard(pattern: str) -> bool:
    """Whether a pattern can name more than the one string it spells (``*``, ``?``, a variable)."""
    return "*" in pattern or "?" in pattern or "${" in pattern


def any_resource(patterns: tuple[str, ...], resource: str, variables: Variables = SEGMENT) -> bool:
    """Whether any of a Resource (or NotResource) list's patterns matches ``resource``; ``*``
    (every resource) only by a ``*`` pattern. A list of exact ARNs is compared as strings (what
    their regex would answer), so the many lists that name one role each compile nothing."""
    if "*" in patterns:
        return True
    if resource == "*":
        return False
    for p in patterns:  # inline: matched once per statement and target in the escalation graph
        if "*" in p or "?" in p or "${" in p:
            break
    else:
        return resource in patterns
    return _compiled(patterns, False, variables).match(resource) is not None


def names_action(grant: Grant, action: str, variables: Variables = SEGMENT) -> bool:
    """The statement's Action (or NotAction) covers ``action``."""
    if grant.actions:
        return _any_action(grant.actions, action, variables)
    return bool(grant.not_actions) and not _any_action(grant.not_actions, action, variables)


def on_resource(grant: Grant, resource: str, variables: Variables = SEGMENT) -> bool:
    """The statement's Resource (or NotResource) covers ``resource``."""
    if grant.not_resources:
        # NotResource: matches every resource except those listed; "*" (all resources) is only
        # partly covered, so for a deny it does not revoke "*" and for an allow it grants "*"
        # minus the exceptions, which we count as granted.
        return not any_resource(grant.not_resources, resource, variables)
    return any_resource(grant.resources, resource, variables)


def statement_matches(grant: Grant, action: str, resource: str = "*", variables: Variables = SEGMENT) -> bool:
    return names_action(grant, action, variables) and on_resource(grant, resource, variables)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    conditional: bool = False
    via: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return self.allowed


DENIED = Decision(False)


def evaluate_set(grants: Iterable[Grant], action: str | None, resource: str = "*") -> Decision:
    """One set of statements' answer for ``action`` on ``resource``: an unconditioned explicit
    Deny first, then the plain Allows, then the conditioned ones (``Decision.conditional``).

    ``action`` None: the caller has already kept only the statements whose Action names the
    action (once, for many resources), so only their Resource is matched.
    """
    allow_plain: list[str] = []
    allow_cond: list[str] = []
    for g in grants:
        if not (on_resource(g, resource) if action is None else statement_matches(g, action, resource)):
            continue
        if g.effect.lower() == "deny":
            if not g.condition:
                return DENIED
            continue
        (allow_cond if g.condition else allow_plain).append(g.via)
    if allow_plain:
        return Decision(True, False, tuple(dict.fromkeys(allow_plain)))
    if allow_cond:
        return Decision(True, True, tuple(dict.fromkeys(allow_cond)))
    return DENIED


def split_grants(grants: Iterable[Grant]) -> tuple[tuple[Grant, ...], tuple[Grant, ...]]:
    identity: list[Grant] = []
    boundary: list[Grant] = []
    for g in grants:
        (boundary if g.boundary else identity).append(g)
    return tuple(identity), tuple(boundary)


def evaluate_grants(grants: Sequence[Grant], action: str, resource: str = "*") -> Decision:
    identity, boundary = split_grants(grants)
    return evaluate_split(identity, boundary, action, resource)


def evaluate_split(
    identity: Sequence[Grant],
    boundary: Sequence[Grant],
    action: str | None,
    resource: str = "*",
    *,
    bounded: bool | None = None,
) -> Decision:
    """The identity's statements capped by its permissions boundary's (``action`` None: as in
    ``evaluate_set``). ``bounded``: whether the identity has a boundary at all, for a caller
    whose ``boundary`` holds only the statements naming the action (default: ``boundary`` is
    not empty); a boundary none of whose statements allow the call denies it."""
    decision = evaluate_set(identity, action, resource)
    if not decision.allowed or not (bool(boundary) if bounded is None else bounded):
        return decision
    cap = evaluate_set(boundary, action, resource)
    if not cap.allowed:
        return DENIED
    return Decision(True, decision.conditional or cap.conditional, decision.via)


def evaluate(identity: Identity, action: str, resource: str = "*") -> Decision:
    return evaluate_grants(identity.grants, action, resource)


def is_allowed(
    identity: Identity, action: str, resource: str = "*", *, allow_conditional: bool = True
) -> bool:
    """True if the identity's policies allow ``action`` on ``resource`` (``*``: on every resource)."""
    d = evaluate(identity, action, resource)
    return d.allowed and (allow_conditional or not d.conditional)


READ_VERBS = (
    "get",
    "list",
    "describe",
    "head",
    "lookup",
    "search",
    "batchget",
    "view",
    "check",
    "query",
    "scan",
    "select",
    "filter",
    "test",
    "validate",
    "estimate",
    "preview",
    "generate",
    "batchcheck",
    "simulate",
    "receive",
    "gitpull",
    "startquery",
    "stopquery",
    "export",
    "download",
    "retrieve",
    "read",
)


def is_read_pattern(action_pattern: str) -> bool:
    """An action pattern that can only name read-only API calls (``s3:Get*`` yes, ``s3:*`` no)."""
    if ":" not in action_pattern:
        return False
    verb = action_pattern.split(":", 1)[1].lower()
    if not verb or verb.startswith(("*", "?")):
        return False
    return verb.startswith(READ_VERBS) or verb == "get"


def access_level(grants: Sequence[Grant]) -> str:
    """'write', 'read' or 'none' from the Allow statements (a boundary caps the level)."""
    identity, boundary = split_grants(grants)

    def level(gs: Sequence[Grant]) -> str:
        out = "none"
        for g in gs:
            if g.effect.lower() != "allow":
                continue
            if g.not_actions or any(not is_read_pattern(a) for a in g.actions):
                return "write"
            if g.actions:
                out = "read"
        return out

    own = level(identity)
    if boundary and own != "none":
        cap = level(boundary)
        order = ("none", "read", "write")
        return order[min(order.index(own), order.index(cap))]
    return own
