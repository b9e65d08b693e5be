"""Risk score per identity: 0-100, a level, and the factors that produced it.

Each unwaived finding on an identity contributes a weight by severity; weights combine like
independent probabilities (1 - prod(1 - w)), so one critical finding already scores high, several
medium ones add up, and the score never passes 100. A finding whose rule names a ``risk_factor``
adds that label to the identity's factors (rules without one contribute their rule id), and the
identity's own exposure (non-human, active credentials, admin-equivalent) is listed as context.

Reachable privilege counts too: an identity that is not admin itself but reaches admin (or a
privilege-escalation path) through the escalation graph (``analyze/graph``) adds the weight of a
high (escalation: medium) finding, one step lower when the path is conditional, with the factor
``reaches-admin`` / ``reaches-escalation``, unless the transitive-escalation rule already reported
it (its finding carries the weight).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping

from nhiscan.analyze.rules import Rule
from nhiscan.model import Finding, Inventory, Reachable, Risk, Severity

WEIGHTS: Mapping[Severity, float] = {
    Severity.CRITICAL: 0.70,
    Severity.HIGH: 0.40,
    Severity.MEDIUM: 0.15,
    Severity.LOW: 0.05,
    Severity.INFO: 0.0,
}


def level_for(score: int) -> str:
    if score >= 80:
        return "critical"
    if score >= 55:
        return "high"
    if score >= 25:
        return "medium"
    if score > 0:
        return "low"
    return "none"


TRANSITIVE_FACTOR = "transitive-escalation"
_REACH_WEIGHT = {
    ("admin", False): Severity.HIGH,
    ("admin", True): Severity.MEDIUM,
    ("escalation", False): Severity.MEDIUM,
    ("escalation", True): Severity.LOW,
}


def _order(f: Finding) -> tuple[int, str, str, int]:
    """An identity's findings, most severe first, then by rule, file and line: the order their
    factors are listed in (ties keep the order the rules found them)."""
    loc = f.location
    return (-f.severity.rank, f.rule_id, loc.path if loc else "", (loc.line or 0) if loc else 0)


def score_identities(
    inventory: Inventory,
    findings: Iterable[Finding],
    catalog: Iterable[Rule],
    reach: Mapping[str, Reachable] | None = None,
) -> dict[str, Risk]:
    factor_of = {r.id: r.risk_factor or r.id for r in catalog}
    per_identity: dict[str, list[Finding]] = defaultdict(list)
    for f in findings:
        if f.identity_id and not f.waived:
            per_identity[f.identity_id].append(f)
    risks: dict[str, Risk] = {}
    for ident in inventory.identities:
        own = per_identity.get(ident.id, [])
        remaining = 1.0
        factors: dict[str, None] = {}
        for f in sorted(own, key=_order):
            remaining *= 1.0 - WEIGHTS[f.severity]
            factors[factor_of.get(f.rule_id, f.rule_id)] = None
        r = reach.get(ident.id) if reach else None
        if (
            r is not None
            and r.path
            and r.level in ("admin", "escalation")
            and TRANSITIVE_FACTOR not in factors
        ):
            conditional = any(h.get("conditional") for h in r.path)
            remaining *= 1.0 - WEIGHTS[_REACH_WEIGHT[(r.level, conditional)]]
            factors[f"reaches-{r.level}"] = None
        score = round(100 * (1.0 - remaining))
        risks[ident.id] = Risk(score=score, level=level_for(score), factors=tuple(factors))
    return risks
