"""Rules whose facts were established while reading files (CI pipelines, agent configs).

The repository sources record an Observation tagged with the rule id; this check turns each one
into a hit of that rule, so the rule's metadata (severity, OWASP ids, remediation) stays in YAML.
"""

from __future__ import annotations

from collections.abc import Iterator

from nhiscan.analyze.checks import CheckContext, Hit, check


@check("observation")
def observation(ctx: CheckContext) -> Iterator[Hit]:
    for obs in ctx.inventory.observations:
        if obs.rule_id == ctx.rule.id:
            yield Hit(
                message=obs.message,
                location=obs.location,
                evidence=dict(obs.attributes),
                key=str(obs.attributes.get("key", "")),
            )
