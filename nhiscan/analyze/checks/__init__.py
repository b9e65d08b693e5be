"""Check functions: the logic behind the rules in rules/.

A check is a plain function decorated with ``@check("name")``. It receives a CheckContext (the
inventory, the evaluation time, the rule with its effective params, and a per-run memo for derived
analyses such as effective AWS permissions) and yields Hits. The engine turns a Hit into a Finding
with the rule's metadata and a stable fingerprint. Several rules may share one check, each with its
own params.

The decorator only tags the function; ``registry()`` collects tagged functions from every module of
this package, so there is no global mutable registry and importing a module has no side effect.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from nhiscan.analyze.rules import Rule
from nhiscan.config import Settings
from nhiscan.model import Credential, Identity, Inventory, Location, Severity

T = TypeVar("T")


# One severity step down (not below low; info stays info) and up (not above critical): a human's
# key, an escalation path rather than admin, a condition the export cannot decide; an unknown
# account, keys that still work.
LOWER = {
    Severity.CRITICAL: Severity.HIGH,
    Severity.HIGH: Severity.MEDIUM,
    Severity.MEDIUM: Severity.LOW,
    Severity.LOW: Severity.LOW,
    Severity.INFO: Severity.INFO,
}
RAISE = {
    Severity.INFO: Severity.LOW,
    Severity.LOW: Severity.MEDIUM,
    Severity.MEDIUM: Severity.HIGH,
    Severity.HIGH: Severity.CRITICAL,
    Severity.CRITICAL: Severity.CRITICAL,
}


@dataclass(frozen=True)
class Hit:
    message: str
    identity: Identity | None = None
    credential: Credential | None = None
    location: Location | None = None
    evidence: Mapping[str, Any] = field(default_factory=dict)
    severity: Severity | None = None
    # Why ``severity`` is above the rule's: said in the finding's message (engine.make_finding).
    severity_reason: str = ""
    owasp_extra: tuple[str, ...] = ()
    key: str = ""
    # False when the finding is about a thing found in several places (one leaked credential, one
    # reused secret): its fingerprint then rests on identity, credential and key alone, so it stays
    # the same when copies are added or removed.
    location_in_fingerprint: bool = True
    # The key earlier versions used (the plain sha256 of a secret), when it differs from ``key``:
    # in memory only, to match baselines and waivers they wrote.
    legacy_key: str | None = None


@dataclass
class CheckContext:
    rule: Rule
    inventory: Inventory
    as_of: datetime
    params: Mapping[str, Any]
    settings: Settings
    memo: dict[str, Any]

    def cached(self, key: str, compute: Callable[[], T]) -> T:
        """A derived analysis computed once per scan and shared by every check that needs it."""
        if key not in self.memo:
            self.memo[key] = compute()
        value: T = self.memo[key]
        return value

    def identities(self, provider: str | None = None, *, nonhuman_only: bool = False) -> Iterable[Identity]:
        for ident in self.inventory.identities:
            if provider and ident.provider != provider:
                continue
            if nonhuman_only and not ident.nonhuman:
                continue
            yield ident

    def days_since(self, when: datetime | None) -> float | None:
        if when is None:
            return None
        return (self.as_of - when).total_seconds() / 86400.0


CheckFn = Callable[[CheckContext], Iterable[Hit]]
_ATTR = "__nhiscan_check__"


def check(name: str) -> Callable[[CheckFn], CheckFn]:
    def mark(fn: CheckFn) -> CheckFn:
        setattr(fn, _ATTR, name)
        return fn

    return mark


def registry() -> dict[str, CheckFn]:
    found: dict[str, CheckFn] = {}
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        for value in vars(module).values():
            name = getattr(value, _ATTR, None)
            if isinstance(name, str) and callable(value):
                if name in found and found[name] is not value:
                    raise RuntimeError(f"check {name!r} defined twice")
                found[name] = value
    return found
