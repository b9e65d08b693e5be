"""The order to fix findings in: nhiscan.analyze.priority."""

from __future__ import annotations

import random
from dataclasses import replace
from typing import Any

from nhiscan.analyze.priority import ENABLES, prioritize, priority_key
from nhiscan.model import Credential, Finding, Identity, Location, Risk, Severity


def _finding(rule: str, sev: Severity, owasp: str, ident: str | None, **kw: Any) -> Finding:
    return Finding(
        rule_id=rule,
        title=rule,
        severity=sev,
        owasp_nhi=(owasp,),
        message="m",
        remediation="r",
        fingerprint=f"sha256:{rule}:{ident}:{kw.get('credential_id')}",
        identity_id=ident,
        **kw,
    )


ADMIN = Identity(
    id="admin",
    provider="aws",
    kind="aws-iam-user",
    name="admin",
    scope="1",
    credentials=(
        Credential(id="AKIA1", kind="aws-access-key", active=True),
        Credential(id="AKIA2", kind="aws-access-key", active=False),
    ),
)
READER = Identity(id="reader", provider="aws", kind="aws-iam-user", name="reader", scope="1")
RISKS = {
    "admin": Risk(score=97, level="critical", factors=("admin-equivalent", "leaked-credential")),
    "reader": Risk(score=40, level="medium", factors=("leaked-credential",)),
}

LEAK_ADMIN = _finding(
    "leaked-credential-linked",
    Severity.CRITICAL,
    "NHI2:2025",
    "admin",
    credential_id="AKIA1",
    evidence={"credential_active": True, "privilege": "admin"},
)
LEAK_READER = _finding(
    "leaked-credential-linked",
    Severity.CRITICAL,
    "NHI2:2025",
    "reader",
    evidence={"credential_active": True, "privilege": "read"},
)
LEAK_DEAD_KEY = _finding(
    "leaked-credential-linked",
    Severity.CRITICAL,
    "NHI2:2025",
    "admin",
    credential_id="AKIA2",
    evidence={"credential_active": False, "privilege": "admin"},
)
ADMIN_EQUIVALENT = _finding("aws-admin-equivalent", Severity.CRITICAL, "NHI5:2025", "admin")
OLD_KEY = _finding("aws-access-key-too-old", Severity.HIGH, "NHI7:2025", "admin", credential_id="AKIA1")
NO_OWNER = _finding("nhi-no-owner", Severity.LOW, "NHI1:2025", "admin")
# A key that still works comes before a revoked one, even of a less powerful identity.
EXPECTED = [LEAK_ADMIN, LEAK_READER, LEAK_DEAD_KEY, ADMIN_EQUIVALENT, OLD_KEY, NO_OWNER]


def test_leaked_working_admin_key_first_missing_owner_last() -> None:
    ordered = prioritize(reversed(EXPECTED), (ADMIN, READER), RISKS)
    assert ordered == EXPECTED


def test_order_does_not_depend_on_input_order() -> None:
    rng = random.Random(16)
    for _ in range(20):
        shuffled = EXPECTED[:]
        rng.shuffle(shuffled)
        assert prioritize(shuffled, (READER, ADMIN), RISKS) == EXPECTED


def test_severity_outranks_what_a_finding_enables() -> None:
    high_leak = _finding("secret-api-token", Severity.HIGH, "NHI2:2025", None)
    critical_privilege = _finding("aws-admin-equivalent", Severity.CRITICAL, "NHI5:2025", "reader")
    assert prioritize([high_leak, critical_privilege], (READER,), RISKS) == [critical_privilege, high_leak]


def test_order_is_the_order_of_the_documented_key() -> None:
    """On random findings, with few and many distinct values in every part, ties in all but the
    last ones, and risk scores a hostile results file could hold (negative, huge), prioritize
    orders exactly as sorting by priority_key does, whatever the input order (a guard for any
    faster sort)."""
    rng = random.Random(17)
    severities = list(Severity)
    owasp = [*sorted(ENABLES), "NHI99:2025"]
    for trial in range(30):
        many = trial % 3 == 0
        idents = [
            Identity(
                id=f"arn:aws:iam::1:role/r{n}",
                provider="aws",
                kind="aws-iam-role",
                name=f"r{n}",
                scope="1",
                credentials=(Credential(id=f"K{n}", kind="aws-access-key", active=n % 2 == 0),),
            )
            for n in range(rng.randint(1, 40 if many else 4))
        ]
        risks = {
            i.id: Risk(
                score=rng.choice([0, 40, 97, -5, 10**12, rng.randint(0, 100)]),
                level="low",
                factors=tuple(
                    rng.sample(["admin-equivalent", "privilege-escalation", "x"], rng.randint(0, 2))
                ),
            )
            for i in idents
            if rng.random() < 0.8
        }
        findings = []
        for n in range(rng.randint(1, 300)):
            ident = rng.choice([*idents, None])
            findings.append(
                Finding(
                    rule_id=f"rule-{rng.randint(0, 60 if many else 2)}",
                    title="t",
                    severity=rng.choice(severities),
                    owasp_nhi=tuple(rng.sample(owasp, rng.randint(0, 3))),
                    message="m",
                    remediation="r",
                    fingerprint=f"sha256:{n:04d}{rng.random()}",
                    identity_id=ident.id if ident else rng.choice([None, "arn:aws:iam::1:role/gone"]),
                    credential_id=rng.choice([None, "K0", "K1", "K9"]),
                    location=rng.choice(
                        [None, Location(path=rng.choice(["a.py", "b.py"]), line=rng.choice([None, 1, 7]))]
                    ),
                    evidence=rng.choice(
                        [
                            {},
                            {"credential_active": True},
                            {"privilege": rng.choice(["admin", "write", "read", 3])},
                        ]
                    ),
                )
            )
        if trial % 5 == 1:  # whole keys tied: kept in the order they came in, as a stable sort keeps them
            findings += [replace(f, message="again") for f in rng.sample(findings, len(findings) // 3)]
        assert prioritize(findings, idents, risks) == _by_key(findings, idents, risks)
        rng.shuffle(findings)
        assert prioritize(findings, idents, risks) == _by_key(findings, idents, risks)


def _by_key(findings: list[Finding], idents: list[Identity], risks: dict[str, Risk]) -> list[Finding]:
    """The findings sorted (stably) by the documented key."""
    by_id = {i.id: i for i in idents}
    return sorted(
        findings,
        key=lambda f: priority_key(f, by_id.get(f.identity_id or ""), risks.get(f.identity_id or "")),
    )
