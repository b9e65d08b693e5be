"""Inline suppression markers: one line of a file says a finding on it is accepted, and why.

Recognised anywhere on the line (in whatever comment syntax the file uses):

* ``nhiscan:ignore reason`` or ``nhiscan: ignore reason``: every rule;
* ``nhiscan:ignore[secret-api-token,secret-generic] reason``: the rules named;
* ``pragma: allowlist secret`` (detect-secrets) and ``gitleaks:allow`` (gitleaks): every rule, so
  that teams can keep the markers they already have.

``parse_ignore(line)`` is the one parser: secret scanning reads every marker on a secret's line,
and the CI checks (``inline_ignores.py``) read, through ``find``, the markers that name rules. A
marker is honoured by reporting the finding as waived (``waiver.kind: inline-ignore``) with its
reason; the evidence keys a marker leaves on a finding are the ``EVIDENCE_*`` names below, the same
for secrets and CI observations, so one matcher (``analyze.engine.inline_waiver``) reads both.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# The rule list is bounded, so a line of many unclosed `ignore[` costs linear time.
_NHISCAN = re.compile(r"nhiscan:[ \t]*ignore(?:\[([^\]\n]{0,400})\])?(?![A-Za-z0-9_\-])[ \t:\-]*([^\n]*)")
_PEERS = (
    (re.compile(r"pragma:\s*allowlist[ -]secret"), "pragma: allowlist secret"),
    (re.compile(r"gitleaks:allow"), "gitleaks:allow"),
)
_COMMENT_END = re.compile(r"\s*(?:-->|\*/|#\}|%>|\"\"\"|''')\s*$")
_COMMENT_ONLY = re.compile(r"[ \t]*(?:#|//|--|;|<!--)[ \t]*$")

# Evidence keys a marker leaves on the finding it covers.
EVIDENCE_RULES = "inline_ignore"  # the rules, comma-separated, or "*" for every rule
EVIDENCE_REASON = "inline_ignore_reason"
EVIDENCE_MARKER = "inline_ignore_marker"
EVIDENCE_LINE = "inline_ignore_line"  # where the marker is, when not on the finding's own line


@dataclass(frozen=True)
class Ignore:
    rules: tuple[str, ...]  # empty: every rule
    reason: str
    marker: str = "nhiscan:ignore"
    # The marker named its rules in brackets (``ignore[...]``, even empty ones).
    bracketed: bool = False
    # Only a comment precedes the marker on its line: it speaks of the line below.
    alone: bool = False

    def covers(self, rule_id: str) -> bool:
        return not self.rules or rule_id in self.rules

    def evidence(self, line: int | None = None) -> dict[str, Any]:
        """The evidence entries that record this marker on a finding it covers."""
        out: dict[str, Any] = {
            EVIDENCE_RULES: ",".join(self.rules) or "*",
            EVIDENCE_REASON: self.reason,
            EVIDENCE_MARKER: self.marker,
        }
        if line is not None:
            out[EVIDENCE_LINE] = line
        return out


def parse_ignore(line: str) -> Ignore | None:
    """The suppression marker on ``line``, or None."""
    if "ignore" in line and "nhiscan" in line:
        m = _NHISCAN.search(line)
        if m is not None:
            rules = tuple(r.strip() for r in (m.group(1) or "").split(",") if r.strip())
            reason = _COMMENT_END.sub("", m.group(2)).strip()
            alone = _COMMENT_ONLY.fullmatch(line, 0, m.start()) is not None
            return Ignore(rules, reason, bracketed=m.group(1) is not None, alone=alone)
    for pattern, name in _PEERS:
        if pattern.search(line):
            return Ignore((), f"marked `{name}`", marker=name)
    return None


def find(text: str) -> list[tuple[int, Ignore]]:
    """Every ``nhiscan:ignore`` marker of a text with its 1-based line (one pass; nothing to do
    when the marker is absent)."""
    if "nhiscan:" not in text:
        return []
    out: list[tuple[int, Ignore]] = []
    for number, line in enumerate(text.split("\n"), 1):
        if "nhiscan:" in line and (ig := parse_ignore(line)) is not None and ig.marker == "nhiscan:ignore":
            out.append((number, ig))
    return out


def waiver(rule_id: str, evidence: Mapping[str, Any], path: str, line: int | None) -> dict[str, Any] | None:
    """The waiver record of a finding of ``rule_id`` whose evidence carries a covering marker."""
    rules = evidence.get(EVIDENCE_RULES)
    if not rules or (rules != "*" and rule_id not in str(rules).split(",")):
        return None
    at = evidence.get(EVIDENCE_LINE) or line
    rec: dict[str, Any] = {
        "kind": "inline-ignore",
        "source": f"{path}:{at}" if at else path,
        "marker": evidence.get(EVIDENCE_MARKER, "nhiscan:ignore"),
        "reason": evidence.get(EVIDENCE_REASON) or "(no reason given)",
        "expired": False,
    }
    if EVIDENCE_LINE in evidence:
        rec["line"] = at
    return rec
