"""Inline ignores in CI files: ``# nhiscan: ignore[rule-id] reason`` on a finding's line or alone
on the line above it.

The marker is read by the one parser of ``inline_ignore.py``; this module holds the stricter policy
of CI files. One comment may name several rules (``ignore[gha-secret-echoed,gha-missing-permissions]``).
An ignore applies to the observations of the rules it names at that place, which are then reported
as waived (their ``waiver`` record says ``kind: inline-ignore``, the file and line, and the reason),
like findings a waivers file accepts. The reason is required, as in a waivers file: an ignore
without one, or naming a rule the catalog does not know, is refused: it waives nothing and is
reported as a problem of the file (exit 2), so that a typo never hides a finding or silences a
check by accident. A marker without brackets (``nhiscan:ignore reason``) is a secret-line marker:
the CI checks leave it to the secret scan. Inline ignores do not expire; use a waivers file for
accepted risks that should.
"""

from __future__ import annotations

from dataclasses import replace

from nhiscan.display import printable
from nhiscan.inline_ignore import Ignore
from nhiscan.inline_ignore import find as find_markers
from nhiscan.model import Observation


def find(text: str) -> list[tuple[int, Ignore]]:
    """The markers of a CI file that name their rules, with their lines."""
    return [(line, ig) for line, ig in find_markers(text) if ig.bracketed]


def problems(ignores: list[tuple[int, Ignore]], known: set[str]) -> list[str]:
    """Why each refused ignore is refused (one line each)."""
    out: list[str] = []
    for line, ig in ignores:
        unknown = sorted(set(ig.rules) - known)
        if not ig.rules:
            out.append(f"line {line}: inline ignore names no rule; not applied")
        elif unknown:
            names = ", ".join(printable(u) for u in unknown)
            out.append(f"line {line}: inline ignore names unknown rule(s) {names}; not applied")
        elif not ig.reason:
            out.append(
                f"line {line}: inline ignore of {', '.join(sorted(ig.rules))} gives no reason; not applied"
            )
    return out


def apply(
    observations: list[Observation], ignores: list[tuple[int, Ignore]], known: set[str]
) -> list[Observation]:
    """The observations, those an accepted ignore covers carrying its evidence."""
    by_line: dict[int, list[tuple[int, Ignore]]] = {}
    for line, ig in ignores:
        if ig.rules and ig.reason and not (set(ig.rules) - known):
            by_line.setdefault(line, []).append((line, ig))
            if ig.alone:
                by_line.setdefault(line + 1, []).append((line, ig))
    if not by_line:
        return observations
    out: list[Observation] = []
    for o in observations:
        hit = next(
            ((ln, ig) for ln, ig in by_line.get(o.location.line or 0, []) if o.rule_id in ig.rules), None
        )
        if hit is None:
            out.append(o)
            continue
        line, ig = hit
        out.append(replace(o, attributes={**o.attributes, **ig.evidence(line)}))
    return out
