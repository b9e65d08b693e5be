"""Inline suppression markers: one line of a file says a finding on it is accepted, and why.

Recognised anywhere on the line (in whatever comment syntax the file uses):

* ``nhiscan:ignore reason`` or ``nhiscan: ignore reason``: every rule;
* ``nhiscan:ignore[secret-api-token,secret-generic] reason``: the rules named;
* ``pragma: allowlist secret`` (detect-secrets) and ``gitleaks:allow`` (gitleaks): every rule, so
  that teams can keep the markers they already have.

``parse_ignore(line)`` is the one parser: secret scanning and the workflow checks both use it.
A marker is honoured by reporting the finding as waived (``waiver.kind: inline``) with its reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_NHISCAN = re.compile(r"nhiscan:\s?ignore(?:\[([A-Za-z0-9_.*\-,\s]*)\])?(?![A-Za-z0-9_\-])[ \t:\-]*([^\n]*)")
_PEERS = (
    (re.compile(r"pragma:\s*allowlist[ -]secret"), "pragma: allowlist secret"),
    (re.compile(r"gitleaks:allow"), "gitleaks:allow"),
)
_COMMENT_END = re.compile(r"\s*(?:-->|\*/|#\}|%>|\"\"\"|''')\s*$")


@dataclass(frozen=True)
class Ignore:
    rules: tuple[str, ...]  # empty: every rule
    reason: str
    marker: str = "nhiscan:ignore"

    def covers(self, rule_id: str) -> bool:
        return not self.rules or rule_id in self.rules


def parse_ignore(line: str) -> Ignore | None:
    """The suppression marker on ``line``, or None."""
    if "ignore" in line and "nhiscan" in line:
        m = _NHISCAN.search(line)
        if m is not None:
            rules = tuple(r.strip() for r in (m.group(1) or "").split(",") if r.strip())
            reason = _COMMENT_END.sub("", m.group(2)).strip()
            return Ignore(rules, reason)
    for pattern, name in _PEERS:
        if pattern.search(line):
            return Ignore((), f"marked `{name}`", marker=name)
    return None
