"""Logging posture rules: the gaps nhiscan.analyze.logging finds, each under the rule it names.

The evaluation runs once per scan (shared with the result's ``logging`` summary), so a finding and
the summary never disagree.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from nhiscan.analyze.checks import CheckContext, Hit, check
from nhiscan.analyze.logging import gaps, posture
from nhiscan.model import Identity, Severity


@check("logging_posture")
def logging_posture(ctx: CheckContext) -> Iterator[Hit]:
    state: dict[str, Any] = ctx.cached("logging-posture", lambda: posture(ctx.inventory))
    by_id: dict[str, Identity] = ctx.cached(
        "identities-by-id", lambda: {i.id: i for i in ctx.inventory.identities}
    )
    for provider, scope, gap in gaps(state, ctx.rule.id):
        severity = gap.get("severity")
        evidence = {"provider": provider, "scope": scope, **dict(gap.get("evidence") or {})}
        yield Hit(
            message=str(gap["message"]),
            identity=by_id.get(str(gap.get("identity") or "")),
            evidence=evidence,
            severity=Severity.parse(str(severity)) if severity else None,
            key=str(gap.get("key") or scope),
        )
