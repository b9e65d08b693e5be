"""What to fix first: the order of findings in every output.

Findings are ranked by a key of five parts, compared in this order (each one breaks the ties of
the one before):

1. **Severity** as reported (after checks raised or lowered it and after configuration overrides),
   critical first, so a list never shows a medium above a critical.
2. **What the finding enables** (:data:`ENABLES`): the highest tier among its OWASP NHI risks. A
   leaked secret (NHI2) can be used by whoever found it, today; a third-party identity (NHI3) or an
   over-privileged one (NHI5) decides how far an attacker gets; weak authentication, insecure
   deployment and long-lived or reused secrets (NHI4, NHI6-NHI10) widen the door; improper
   offboarding (NHI1: no owner, unused) is hygiene.
3. **Whether the credential works**: 2 when the finding says its credential is active
   (``evidence.credential_active``, a leaked key that still authenticates), 1 when the finding names
   an active credential of its identity, else 0.
4. **What the identity may do**: 3 admin-equivalent, 2 can escalate its privileges, 1 can write,
   0 otherwise, from the finding's own ``evidence.privilege`` or else the identity's risk factors.
5. **The identity's risk score** (0-100, highest first); findings without an identity count 0.

Then rule id, identity id, file path, line and fingerprint, so the order is total and the same on
every run and every machine.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from operator import itemgetter

from nhiscan.model import Finding, Identity, Risk

# Tier of each OWASP NHI Top 10 (2025) risk: how directly a finding of it gives an attacker access.
ENABLES: Mapping[str, int] = {
    "NHI2:2025": 4,  # Secret Leakage: usable now by whoever holds the file
    "NHI3:2025": 3,  # Vulnerable Third-Party NHI: someone else's code holds the access
    "NHI5:2025": 3,  # Overprivileged NHI: how far a compromise reaches
    "NHI4:2025": 2,  # Insecure Authentication
    "NHI6:2025": 2,  # Insecure Cloud Deployment Configurations
    "NHI7:2025": 2,  # Long-Lived Secrets
    "NHI8:2025": 2,  # Environment Isolation
    "NHI9:2025": 2,  # NHI Reuse
    "NHI10:2025": 2,  # Human Use of NHI
    "NHI1:2025": 1,  # Improper Offboarding: hygiene
}

_PRIVILEGE = {"admin": 3, "escalation": 2, "write": 1}
_FACTOR_PRIVILEGE = {"admin-equivalent": 3, "privilege-escalation": 2}

PriorityKey = tuple[int, int, int, int, int, str, str, str, int, str]


def enables(f: Finding) -> int:
    return max((ENABLES.get(o, 0) for o in f.owasp_nhi), default=0)


def _credential_live(f: Finding, ident: Identity | None) -> int:
    if f.evidence.get("credential_active") is True:
        return 2
    if ident is not None and f.credential_id:
        for c in ident.credentials:
            if c.id == f.credential_id:
                return 1 if c.active else 0
    return 0


def _stated_privilege(f: Finding) -> int | None:
    """The finding's own ``evidence.privilege``, when it states a known level."""
    level = f.evidence.get("privilege")
    return _PRIVILEGE[level] if isinstance(level, str) and level in _PRIVILEGE else None


def _factor_privilege(risk: Risk | None) -> int:
    """What the identity's risk factors say it may do."""
    factors = risk.factors if risk else ()
    return max((_FACTOR_PRIVILEGE.get(x, 0) for x in factors), default=0)


def _privilege(f: Finding, risk: Risk | None) -> int:
    stated = _stated_privilege(f)
    return stated if stated is not None else _factor_privilege(risk)


def priority_key(f: Finding, ident: Identity | None, risk: Risk | None) -> PriorityKey:
    loc = f.location
    return (
        -f.severity.rank,
        -enables(f),
        -_credential_live(f, ident),
        -_privilege(f, risk),
        -(risk.score if risk else 0),
        f.rule_id,
        f.identity_id or "",
        loc.path if loc else "",
        (loc.line or 0) if loc else 0,
        f.fingerprint,
    )


def prioritize(
    findings: Iterable[Finding], identities: Iterable[Identity], risks: Mapping[str, Risk]
) -> list[Finding]:
    """``findings`` in the order to fix them (see the module docstring): the order of sorting by
    ``priority_key``, reached in time linear in the findings for what scans produce.

    What the key takes from an identity (its risk score, the privilege its risk factors name) is
    worked out once per identity and a finding's tier once per combination of OWASP risks. The
    findings are then grouped by the key's leading parts, up to the rule: a few hundred groups at
    most, sorted, while each group keeps the order the findings came in. The rules find them
    identity after identity, so inside a group they mostly come already in the order of the rest
    of the key, and sorting a group (stable, like sorting the whole list) finds runs instead of
    comparing afresh. A million findings were one sort of a million ten-part keys, costing more
    per finding than a hundred thousand did (benchmarks/README.md).
    """
    by_id = {i.id: i for i in identities}
    of_identity: dict[str, tuple[Identity | None, int, int]] = {}
    tiers: dict[tuple[str, ...], int] = {}
    groups: dict[tuple[int, int, int, int, int, str], list[tuple[tuple[str, str, int, str], Finding]]] = {}
    for f in findings:
        iid = f.identity_id or ""
        known = of_identity.get(iid)
        if known is None:
            risk = risks.get(iid)
            known = of_identity[iid] = (by_id.get(iid), risk.score if risk else 0, _factor_privilege(risk))
        ident, score, factor_privilege = known
        tier = tiers.get(f.owasp_nhi)
        if tier is None:
            tier = tiers[f.owasp_nhi] = enables(f)
        stated = _stated_privilege(f)
        privilege = stated if stated is not None else factor_privilege
        head = (-f.severity.rank, -tier, -_credential_live(f, ident), -privilege, -score, f.rule_id)
        loc = f.location
        tail = (iid, loc.path if loc else "", (loc.line or 0) if loc else 0, f.fingerprint)
        group = groups.get(head)
        if group is None:
            group = groups[head] = []
        group.append((tail, f))
    ordered: list[Finding] = []
    for head in sorted(groups):
        group = groups[head]
        group.sort(key=_tail)
        ordered.extend(map(_finding, group))
    return ordered


_tail = itemgetter(0)
_finding = itemgetter(1)
