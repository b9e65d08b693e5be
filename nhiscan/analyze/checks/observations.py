"""Rules whose facts were established while reading files (CI pipelines, agent configs).

The repository sources record an Observation tagged with the rule id; this check turns each one
into a hit of that rule, so the rule's metadata (severity, OWASP ids, remediation) stays in YAML.
"""

from __future__ import annotations

from collections.abc import Iterator

from nhiscan.analyze.checks import CheckContext, Hit, check
from nhiscan.model import Severity


@check("observation")
def observation(ctx: CheckContext) -> Iterator[Hit]:
    for obs in ctx.inventory.observations:
        if obs.rule_id == ctx.rule.id:
            evidence = dict(obs.attributes)
            # A source may judge one place more or less severe than the rule's default (a secret
            # printed as is is masked by the runner; an encoded copy is not).
            severity = evidence.pop("severity", None)
            yield Hit(
                message=obs.message,
                location=obs.location,
                evidence=evidence,
                severity=Severity.parse(severity) if isinstance(severity, str) else None,
                key=str(obs.attributes.get("key", "")),
            )


@check("opt_in_observation")
def opt_in_observation(ctx: CheckContext) -> Iterator[Hit]:
    """An observation rule that reports only when its ``enabled`` parameter is true (off by default:
    a practice many teams follow on purpose, reported to those who ask)."""
    if ctx.params.get("enabled") is True:
        yield from observation(ctx)
