"""Every AWS escalation technique as an exploitable account and a look-alike that is not.

``python -m tests.graph.aws_cases`` writes them to fixtures/escalation/aws/<technique>/{exploitable,
lookalike}/ as ``gaad.json`` (an ``aws iam get-account-authorization-details`` export) and
``expected.json`` (the edges that must come out of the attacker, exactly; none for a look-alike).
tests/graph/test_aws_techniques.py checks the files are what this module writes.

The attacker is always ``attacker`` (a user, or the role ``attacker-role``); everything it is
granted is the technique's own permissions, so any other edge from it would be a false positive.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.graph import aws_cases_compute, aws_cases_existing, aws_cases_iam  # noqa: F401  (they fill CASES)
from tests.graph.aws_cases_base import ATTACKER, ATTACKER_ROLE, CASES, ROLE_SOURCE, ROOT, Case

__all__ = ["ATTACKER", "ATTACKER_ROLE", "CASES", "ROLE_SOURCE", "ROOT", "Case", "write"]


def write(root: Path = ROOT) -> list[Path]:
    """Write every case's fixtures; returns the files written. The expected edges sit beside the
    two case directories, so each directory holds exports only (``--input DIR`` reads it whole)."""
    written = []

    def put(path: Path, content: object) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(content, indent=4) + "\n", encoding="utf-8")
        written.append(path)

    for case in CASES:
        d = root / case.technique
        put(d / "exploitable" / "gaad.json", case.exploitable)
        put(d / "lookalike" / "gaad.json", case.lookalike)
        put(
            d / "expected.json",
            {
                "kind": case.kind,
                "exploitable": case.expected,
                "lookalike": [],
                "lookalike_is": case.lookalike_is,
            },
        )
    return written


if __name__ == "__main__":
    print(f"{len(write())} files under {ROOT}")
