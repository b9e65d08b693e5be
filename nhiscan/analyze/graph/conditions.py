"""IAM ``Condition`` blocks decided from what an export tells, offline.

A condition block is evaluated against a *context*: the request-context keys whose value is known
without a request. The escalation graph knows

- ``aws:CurrentTime`` and ``aws:EpochTime``: the scan's ``--as-of`` instant;
- ``aws:PrincipalAccount``, ``aws:PrincipalArn`` (and ``aws:username`` for a user): the identity
  that would make the call;
- ``aws:ResourceAccount``: the account of the target the edge names;
- ``aws:SourceAccount``: for a service acting on a passed role, the account the compute runs in;
- ``aws:PrincipalOrgID``: when the export gives the identity's organization id
  (``organization_id`` attribute).

The answer is ``"true"`` (the condition holds for that call), ``"false"`` (it never holds: the
statement never applies) or ``"unknown"`` (it depends on something the export does not say: a
source IP, MFA, a tag on the request, ...). Semantics follow IAM: every operator of a block must
hold, every key of an operator must hold, and one of a key's values must match (negated operators:
none may match). ``...IfExists`` on a known key is the plain operator; ``ForAnyValue:`` and
``ForAllValues:`` on the single-valued keys above are the plain operator too. An operator or value
this module does not read is ``"unknown"``, never a guess.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any, Literal

from nhiscan.analyze.aws_policy import wildcard_matches
from nhiscan.sources.timeparse import parse_time

Answer = Literal["true", "false", "unknown"]
TRUE: Answer = "true"
FALSE: Answer = "false"
UNKNOWN: Answer = "unknown"

_DATE_OPS: dict[str, Callable[[datetime, datetime], bool]] = {
    "dateequals": operator.eq,
    "datenotequals": operator.ne,
    "datelessthan": operator.lt,
    "datelessthanequals": operator.le,
    "dategreaterthan": operator.gt,
    "dategreaterthanequals": operator.ge,
}
# string operators: (case-insensitive, wildcards, negated)
_STRING_OPS = {
    "stringequals": (False, False, False),
    "stringnotequals": (False, False, True),
    "stringequalsignorecase": (True, False, False),
    "stringnotequalsignorecase": (True, False, True),
    "stringlike": (False, True, False),
    "stringnotlike": (False, True, True),
    "arnequals": (False, False, False),
    "arnnotequals": (False, False, True),
    "arnlike": (False, True, False),
    "arnnotlike": (False, True, True),
}


def context_for(
    as_of: datetime,
    *,
    principal_account: str | None = None,
    principal_arn: str | None = None,
    username: str | None = None,
    resource_account: str | None = None,
    source_account: str | None = None,
    principal_org_id: str | None = None,
) -> dict[str, Any]:
    """The known request-context keys (lower-case names, as IAM compares keys case-insensitively)."""
    ctx: dict[str, Any] = {"aws:currenttime": as_of, "aws:epochtime": as_of}
    for key, value in (
        ("aws:principalaccount", principal_account),
        ("aws:principalarn", principal_arn),
        ("aws:username", username),
        ("aws:resourceaccount", resource_account),
        ("aws:sourceaccount", source_account),
        ("aws:principalorgid", principal_org_id),
    ):
        if value:
            ctx[key] = value
    return ctx


def _all(answers: Iterable[Answer]) -> Answer:
    out: Answer = TRUE
    for a in answers:
        if a == FALSE:
            return FALSE
        if a == UNKNOWN:
            out = UNKNOWN
    return out


def _values(raw: Any) -> list[Any]:
    return list(raw) if isinstance(raw, (list, tuple)) else [raw]


def _date_key(op: str, known: Any, values: list[Any]) -> Answer:
    if not isinstance(known, datetime):
        return UNKNOWN
    compare = _DATE_OPS[op]
    hits = []
    for v in values:
        when = parse_time(v)
        if when is None:
            return UNKNOWN
        hits.append(compare(known, when))
    if op == "datenotequals":  # negated: none of the values may equal
        return TRUE if all(hits) else FALSE
    return TRUE if any(hits) else FALSE


def _string_key(op: str, known: Any, values: list[Any]) -> Answer:
    if not isinstance(known, str):
        return UNKNOWN
    fold, wild, negated = _STRING_OPS[op]
    subject = known.lower() if fold else known
    matched = False
    for v in values:
        if not isinstance(v, (str, int, float)) or isinstance(v, bool):
            return UNKNOWN
        text = str(v)
        if "${" in text:  # a policy variable: its value is the request's, not the export's
            return UNKNOWN
        text = text.lower() if fold else text
        if wildcard_matches(text, subject) if wild else text == subject:
            matched = True
    return TRUE if matched != negated else FALSE


def _operator(op_name: str, block: Any, context: Mapping[str, Any]) -> Answer:
    if not isinstance(block, Mapping):
        return UNKNOWN
    op = op_name.lower()
    if op.startswith(("foranyvalue:", "forallvalues:")):
        op = op.split(":", 1)[1]
    if op.endswith("ifexists"):
        op = op[: -len("ifexists")]
    answers: list[Answer] = []
    for key, raw in block.items():
        known = context.get(str(key).lower())
        values = _values(raw)
        if op == "null":
            # Null "false": the key must be present; "true": absent. A known key is present.
            if known is None or len(values) != 1:
                answers.append(UNKNOWN)
            else:
                flag = str(values[0]).lower()
                answers.append(FALSE if flag == "true" else TRUE if flag == "false" else UNKNOWN)
        elif known is None or not values:
            answers.append(UNKNOWN)
        elif op in _DATE_OPS:
            answers.append(_date_key(op, known, values))
        elif op in _STRING_OPS:
            answers.append(_string_key(op, known, values))
        else:
            answers.append(UNKNOWN)
    return _all(answers)


def evaluate(condition: Mapping[str, Any] | None, context: Mapping[str, Any]) -> Answer:
    """Whether a statement's Condition block holds for a call made with ``context``."""
    if not condition:
        return TRUE
    if not isinstance(condition, Mapping):
        return UNKNOWN
    return _all(_operator(str(op), block, context) for op, block in condition.items())


def undecided(condition: Mapping[str, Any] | None, context: Mapping[str, Any]) -> str:
    """The parts of a condition block the context does not decide, said plainly (for an edge)."""
    if not condition or not isinstance(condition, Mapping):
        return ""
    parts = []
    for op, block in condition.items():
        if not isinstance(block, Mapping):
            parts.append(f"{op} (unreadable)")
            continue
        for key, raw in block.items():
            if _operator(str(op), {key: raw}, context) == UNKNOWN:
                shown = ", ".join(str(v) for v in _values(raw))
                parts.append(f"{key} {op} {shown}")
    return "; ".join(parts)
