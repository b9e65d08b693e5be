"""What every escalation case is built from: the attacker, the admin targets, ``Case`` and ``add``."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.graph.aws_gaad import (
    ADMIN,
    Stmt,
    arn,
    gaad,
    role,
    trust,
    user,
)

ROOT = Path(__file__).resolve().parents[2] / "fixtures" / "escalation" / "aws"
ATTACKER = arn("user", "attacker")
ATTACKER_ROLE = arn("role", "attacker-role")
NEVER = {"DateLessThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}}  # long past at --as-of
LATER = {"DateGreaterThan": {"aws:CurrentTime": "2099-01-01T00:00:00Z"}}  # not yet at --as-of
SINCE = {"DateGreaterThan": {"aws:CurrentTime": "2024-01-01T00:00:00Z"}}  # always true at --as-of
OTHER_ACCOUNT = "999988887777"
ROLE_SOURCE = arn("role", "app-attacker")


@dataclass
class Case:
    technique: str
    kind: str  # the edge kind the technique gives
    exploitable: dict[str, Any]
    lookalike: dict[str, Any]
    expected: list[dict[str, Any]] = field(default_factory=list)
    lookalike_is: str = ""  # what makes the look-alike safe


def edge(
    target: str, kind: str, conditional: bool = False, source: str = ATTACKER, via: str = ""
) -> dict[str, Any]:
    out: dict[str, Any] = {"source": source, "target": target, "kind": kind, "conditional": conditional}
    if via:
        out["via_contains"] = via
    return out


def attacker(*stmts: Stmt, **kw: Any) -> dict[str, Any]:
    return user("attacker", inline={"attacker-policy": list(stmts)}, **kw)


def admin_user() -> dict[str, Any]:
    return user("admin-user", managed=[ADMIN])


def admin_role(
    name: str, *services: str, profile: bool = False, condition: dict[str, Any] | None = None
) -> dict[str, Any]:
    return role(name, trust(*services, condition=condition), managed=[ADMIN], profile=profile)


def account(
    *stmts: Stmt, roles: list[dict[str, Any]] = (), users: list[dict[str, Any]] = (), **kw: Any
) -> dict[str, Any]:  # type: ignore[assignment]
    return gaad(users=[attacker(*stmts, **kw), admin_user(), *users], roles=list(roles))


CASES: list[Case] = []


def add(
    technique: str,
    kind: str,
    exploitable: dict[str, Any],
    expected: list[dict[str, Any]],
    lookalike: dict[str, Any],
    why: str,
) -> None:
    CASES.append(Case(technique, kind, exploitable, lookalike, expected, why))
