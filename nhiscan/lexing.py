"""Tokens of the small expression languages nhiscan reads without evaluating them: GitHub job
`if:` conditions (sources/repo/gha_if.py) and GCP workload identity provider conditions, a subset
of CEL (analyze/ci_oidc_gcp.py). Each language gives its own token pattern; the scan is linear."""

from __future__ import annotations

import re


def tokens(pattern: re.Pattern[str], text: str, error: type[Exception]) -> list[tuple[str, str]]:
    """(group name, token) for each match of ``pattern`` from the start of ``text`` on, which must
    cover all of it but trailing blanks; ``error`` names the first position no token matches."""
    out: list[tuple[str, str]] = []
    pos, end = 0, len(text.rstrip())
    while pos < end:
        m = pattern.match(text, pos)
        if m is None or m.end() == pos:
            raise error(f"no token at {pos}")
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind)))
        pos = m.end()
    return out
