"""Inline ignores in CI files: ``# nhiscan: ignore[rule-id] reason`` on a finding's line or alone
on the line above it.

One comment may name several rules (``ignore[gha-secret-echoed,gha-missing-permissions]``). An
ignore applies to the observations of the rules it names at that place, which are then reported as
waived (their ``waiver`` record says ``kind: inline-ignore``, the file and line, and the reason),
like findings a waivers file accepts. The reason is required, as in a waivers file: an ignore
without one, or naming a rule the catalog does not know, is refused: it waives nothing and is
reported as a problem of the file (exit 2), so that a typo never hides a finding or silences a
check by accident. Inline ignores do not expire; use a waivers file for accepted risks that should.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from nhiscan.display import printable
from nhiscan.model import Observation

# The rule list is bounded, so a line of many unclosed `ignore[` costs linear time.
_IGNORE = re.compile(r"#[ \t]*nhiscan:[ \t]*ignore\[([^\]\n]{0,400})\][ \t]*([^\n]*)")
_COMMENT_ONLY = re.compile(r"\s*#")
KEY = "inline_ignore"


@dataclass(frozen=True)
class Ignore:
    line: int
    rules: frozenset[str]
    reason: str
    alone: bool  # the comment is the whole line: it applies to the next line too


def find(text: str) -> list[Ignore]:
    """Every ignore comment of a text (one pass; nothing to do when the marker is absent)."""
    if "nhiscan:" not in text:
        return []
    out: list[Ignore] = []
    line = 1
    counted = 0
    for m in _IGNORE.finditer(text):
        line += text.count("\n", counted, m.start())
        counted = m.start()
        start = text.rfind("\n", 0, m.start()) + 1
        rules = frozenset(r.strip() for r in m.group(1).split(",") if r.strip())
        lead = _COMMENT_ONLY.match(text, start)
        alone = lead is not None and lead.end() - 1 == m.start()
        out.append(Ignore(line, rules, m.group(2).strip(), alone))
    return out


def problems(ignores: list[Ignore], known: set[str]) -> list[str]:
    """Why each refused ignore is refused (one line each)."""
    out: list[str] = []
    for ig in ignores:
        unknown = sorted(ig.rules - known)
        if not ig.rules:
            out.append(f"line {ig.line}: inline ignore names no rule; not applied")
        elif unknown:
            names = ", ".join(printable(u) for u in unknown)
            out.append(f"line {ig.line}: inline ignore names unknown rule(s) {names}; not applied")
        elif not ig.reason:
            out.append(
                f"line {ig.line}: inline ignore of {', '.join(sorted(ig.rules))} gives no reason; not applied"
            )
    return out


def apply(observations: list[Observation], ignores: list[Ignore], known: set[str]) -> list[Observation]:
    """The observations, those an accepted ignore covers marked with it."""
    usable = [ig for ig in ignores if ig.rules and ig.reason and not (ig.rules - known)]
    if not usable:
        return observations
    by_line: dict[int, list[Ignore]] = {}
    for ig in usable:
        by_line.setdefault(ig.line, []).append(ig)
        if ig.alone:
            by_line.setdefault(ig.line + 1, []).append(ig)
    out: list[Observation] = []
    for o in observations:
        hit = next((ig for ig in by_line.get(o.location.line or 0, []) if o.rule_id in ig.rules), None)
        if hit is None:
            out.append(o)
            continue
        attrs = dict(o.attributes)
        attrs[KEY] = {"line": hit.line, "reason": hit.reason}
        out.append(replace(o, attributes=attrs))
    return out
