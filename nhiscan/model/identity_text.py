"""Identities as JSON text, each many-action grant statement encoded once (see ``GrantTexts``)."""

from __future__ import annotations

from nhiscan.model import Grant, Identity, Reachable, Risk
from nhiscan.model.jsonstream import COMPACT, Encoded
from nhiscan.model.serialize import grant_out, identity_out


class GrantTexts:
    """Identities as JSON text, each grant statement encoded once: a managed policy attached to
    thousands of identities is one shared tuple of Grants (sources/aws), and ReadOnlyAccess alone
    is hundreds of actions. Only grants with many actions are kept (bounded), the others are cheap."""

    LIMIT = 100_000

    def __init__(self) -> None:
        self._texts: dict[int, tuple[Grant, str]] = {}

    def grant(self, g: Grant) -> str:
        hit = self._texts.get(id(g))
        if hit is not None and hit[0] is g:
            return hit[1]
        text = COMPACT(grant_out(g))
        if len(g.actions) + len(g.not_actions) >= 8 and len(self._texts) < self.LIMIT:
            self._texts[id(g)] = (g, text)
        return text

    def identity(self, i: Identity, risk: Risk | None = None, *, reach: Reachable | None = None) -> Encoded:
        """``COMPACT(identity_out(i, risk, reach=reach))``, byte for byte."""
        out = identity_out(i, risk, grants=False, reach=reach)
        tail = {"trusts": out.pop("trusts"), "attributes": out.pop("attributes")}
        head = COMPACT(out)
        grants = ", ".join(self.grant(g) for g in i.grants)
        return Encoded(f'{head[:-1]}, "grants": [{grants}], {COMPACT(tail)[1:]}')
