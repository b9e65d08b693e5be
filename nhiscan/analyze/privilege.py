"""What an identity can do, summarised provider-neutrally, for blast-radius and agent rules.

Each provider answers in its own module ``nhiscan.analyze.privilege_<provider>`` with a function
``assess(identity, memo) -> Privilege``; this module only dispatches. Checks call
``privilege_of(ctx, identity)`` so the (possibly costly) evaluation runs once per identity per scan.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from nhiscan.model import Identity

if TYPE_CHECKING:
    from nhiscan.analyze.checks import CheckContext

# Ordered from most to least powerful.
LEVELS = ("admin", "escalation", "write", "read", "none", "unknown")


@dataclass(frozen=True)
class Privilege:
    level: str  # one of LEVELS
    reasons: tuple[str, ...] = ()  # e.g. ("AdministratorAccess attached", "iam:CreateAccessKey on *")

    @property
    def privileged(self) -> bool:
        """Can take over the account/project: admin-equivalent or a privilege-escalation path."""
        return self.level in ("admin", "escalation")


UNKNOWN = Privilege("unknown")


def privilege_of(ctx: CheckContext, identity: Identity) -> Privilege:
    cache: dict[str, Privilege] = ctx.cached("privilege", dict)
    if identity.id not in cache:
        cache[identity.id] = assess(identity, ctx.memo)
    return cache[identity.id]


def assess(identity: Identity, memo: dict[str, Any]) -> Privilege:
    try:
        module = importlib.import_module(f"nhiscan.analyze.privilege_{identity.provider}")
    except ModuleNotFoundError:
        return UNKNOWN
    result: Privilege = module.assess(identity, memo)
    return result
