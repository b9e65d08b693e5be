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
