"""AI-agent identities with the power to mint credentials or administer (rule agent-identity-privileged).

Agent identities are marked before analysis (see nhiscan.analyze.agents). An agent acts on
instructions it reads from untrusted input (prompts, documents, tool output); if it can create keys,
tokens or role assignments, or holds admin rights, one prompt injection is an account takeover.
"""

from __future__ import annotations

from collections.abc import Iterator

from nhiscan.analyze.agents import is_agent
from nhiscan.analyze.checks import CheckContext, Hit, check
from nhiscan.analyze.power import blast_radius


@check("agent_identity_privileged")
def agent_identity_privileged(ctx: CheckContext) -> Iterator[Hit]:
    for ident in ctx.identities():
        if not is_agent(ident):
            continue
        power = blast_radius(ctx, ident)
        if not power.privileged:
            continue
        what = (
            "holds admin-equivalent rights" if power.level == "admin" else "can mint credentials or escalate"
        )
        yield Hit(
            identity=ident,
            message=(
                f"AI-agent identity {ident.kind} {ident.name} {what}: "
                f"{'; '.join(power.reasons[:3]) or power.level} (agent: {ident.attributes.get('agent_reason')})"
            ),
            evidence={
                "agent_reason": ident.attributes.get("agent_reason"),
                "privilege": power.level,
                "privilege_reasons": list(power.reasons),
            },
        )
