"""The one-step severity changes the checks share (nhiscan.analyze.checks.LOWER / RAISE)."""

from __future__ import annotations

from nhiscan.analyze import checks
from nhiscan.analyze.checks import LOWER, RAISE, aws, aws_trust, escalation
from nhiscan.model import Severity

ORDER = [Severity.INFO, Severity.LOW, Severity.MEDIUM, Severity.HIGH, Severity.CRITICAL]


def test_one_step_down_never_below_low_and_info_stays() -> None:
    assert [LOWER[s] for s in ORDER] == [
        Severity.INFO,
        Severity.LOW,
        Severity.LOW,
        Severity.MEDIUM,
        Severity.HIGH,
    ]


def test_one_step_up_never_above_critical() -> None:
    assert [RAISE[s] for s in ORDER] == [
        Severity.LOW,
        Severity.MEDIUM,
        Severity.HIGH,
        Severity.CRITICAL,
        Severity.CRITICAL,
    ]
    for s in ORDER[:-1]:
        assert RAISE[s].rank == s.rank + 1


def test_the_checks_use_the_shared_tables() -> None:
    for module in (aws, aws_trust, escalation):
        names = vars(module)
        assert "_LOWER" not in names and "_RAISE" not in names, module.__name__
    assert aws.LOWER is checks.LOWER and aws.RAISE is checks.RAISE
    assert aws_trust.LOWER is checks.LOWER and aws_trust.RAISE is checks.RAISE
    assert escalation.LOWER is checks.LOWER
