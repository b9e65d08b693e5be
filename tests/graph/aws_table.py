"""The per-technique table of docs/escalation-aws.md, measured on the fixtures.

``python -m tests.graph.aws_table`` rewrites the table between the ``<!-- aws-techniques -->``
markers; tests/graph/test_aws_techniques.py checks the document holds what this module measures.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.graph import aws_cases

DOC = Path(__file__).resolve().parents[2] / "docs" / "escalation-aws.md"
START, END = "<!-- aws-techniques -->", "<!-- /aws-techniques -->"

# Rhino Security Labs' numbering of its 21 IAM escalation methods.
RHINO = {
    "create-policy-version": 1,
    "set-default-policy-version": 2,
    "passrole-ec2": 3,
    "create-access-key": 4,
    "create-login-profile": 5,
    "update-login-profile": 6,
    "attach-user-policy": 7,
    "attach-group-policy": 8,
    "attach-role-policy": 9,
    "put-user-policy": 10,
    "put-group-policy": 11,
    "put-role-policy": 12,
    "add-user-to-group": 13,
    "update-assume-role-policy": 14,
    "passrole-lambda": 15,
    "passrole-lambda-event-source": 16,
    "lambda-update-code": 17,
    "passrole-glue-dev-endpoint": 18,
    "glue-update-dev-endpoint": 19,
    "passrole-cloudformation": 20,
    "passrole-datapipeline": 21,
}


def measure() -> list[tuple[str, str, str, int, int, int, int, str]]:
    """(technique, kind, Rhino #, exploitable fixtures, found, look-alike fixtures, flagged, what
    makes the look-alike safe)."""
    from tests.graph.test_aws_techniques import ATTACKERS, load_edges

    rows = []
    for case in sorted(aws_cases.CASES, key=lambda c: c.technique):
        d = aws_cases.ROOT / case.technique
        expected = json.loads((d / "expected.json").read_text(encoding="utf-8"))
        attackers = {*ATTACKERS, *(x["source"] for x in expected["exploitable"])}
        got = {(e.source, e.target, e.kind) for e in load_edges(d / "exploitable")}
        found = all((x["source"], x["target"], x["kind"]) in got for x in expected["exploitable"])
        flagged = any(e.source in attackers and e.kind == case.kind for e in load_edges(d / "lookalike"))
        if (
            case.kind == "aws-self-modify"
        ):  # a look-alike's self-edge counts only if the technique's call made it
            action = expected["exploitable"][0].get("via_contains", "")
            flagged = any(
                e.source in attackers and e.kind == case.kind and action in e.via
                for e in load_edges(d / "lookalike")
            )
        rhino = f"#{RHINO[case.technique]}" if case.technique in RHINO else ""
        rows.append((case.technique, case.kind, rhino, 1, int(found), 1, int(flagged), case.lookalike_is))
    return rows


def markdown(rows: list[tuple[str, str, str, int, int, int, int, str]]) -> str:
    lines = [
        "| Technique (fixtures/escalation/aws/…) | Edge kind | Rhino | Exploitable | Found | Look-alike | Flagged "
        "| The look-alike |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for t, kind, rhino, ex, found, look, flagged, why in rows:
        lines.append(f"| `{t}` | `{kind}` | {rhino} | {ex} | {found} | {look} | {flagged} | {why} |")
    total = (
        sum(r[3] for r in rows),
        sum(r[4] for r in rows),
        sum(r[5] for r in rows),
        sum(r[6] for r in rows),
    )
    lines.append(f"| **{len(rows)} techniques** | | | {total[0]} | {total[1]} | {total[2]} | {total[3]} | |")
    return "\n".join(lines)


def table_in_doc(text: str) -> str:
    m = re.search(re.escape(START) + r"\n(.*?)" + re.escape(END), text, re.S)
    assert m, f"{DOC} needs a {START} … {END} block"
    return m.group(1).rstrip("\n")


if __name__ == "__main__":
    text = DOC.read_text(encoding="utf-8")
    block = f"{START}\n{table_in_doc(text)}\n{END}".replace(f"{START}\n\n", f"{START}\n")
    DOC.write_text(text.replace(block, f"{START}\n{markdown(measure())}\n{END}"), encoding="utf-8")
    print(f"table of {len(aws_cases.CASES)} techniques written to {DOC}")
