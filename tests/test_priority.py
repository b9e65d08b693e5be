"""The order to fix findings in: nhiscan.analyze.priority."""

from __future__ import annotations

import random
from typing import Any

from nhiscan.analyze.priority import prioritize
from nhiscan.model import Credential, Finding, Identity, Risk, Severity


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
