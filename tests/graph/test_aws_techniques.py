"""Every AWS escalation technique's fixtures through the real loader and ``edges_aws.edges``.

Exploitable: the attacker's edges are exactly the expected ones (source, target, kind, and whether
conditional). Look-alike: no edge of the technique's kind leaves the attacker (for self-edges: none
made by the technique's call). The counts per technique are docs/escalation-aws.md's table.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest

from nhiscan.analyze.graph import edges_aws
from nhiscan.analyze.graph.edge import Edge
from nhiscan.config import InputSpec, ScanConfig, Settings
from nhiscan.core import collect_inventory
from tests.graph import aws_cases

AS_OF = datetime(2026, 11, 1, tzinfo=timezone.utc)
ROOT = aws_cases.ROOT
ATTACKERS = (aws_cases.ATTACKER, aws_cases.ATTACKER_ROLE, aws_cases.ROLE_SOURCE)


def case_dirs() -> Iterator[Path]:
    yield from sorted(p.parent for p in ROOT.glob("*/*/gaad.json"))


def load_edges(case_dir: Path) -> list[Edge]:
    config = ScanConfig(
        as_of=AS_OF, inputs=(InputSpec.parse(str(case_dir / "gaad.json")),), settings=Settings()
    )
    inventory, errors = collect_inventory(config)
    assert not errors, errors
    return list(edges_aws.edges(inventory, AS_OF))


@pytest.mark.parametrize("case_dir", list(case_dirs()), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_technique(case_dir: Path) -> None:
    expected = json.loads((case_dir.parent / "expected.json").read_text(encoding="utf-8"))
    edges = load_edges(case_dir)
    attackers = {*ATTACKERS, *(x["source"] for x in expected["exploitable"])}
    if case_dir.name == "exploitable":
        got = {(e.source, e.target, e.kind, e.conditional) for e in edges if e.source in attackers}
        want = {(x["source"], x["target"], x["kind"], x["conditional"]) for x in expected["exploitable"]}
        assert got == want, [e for e in edges if e.source in attackers]
        for x in expected["exploitable"]:
            if "via_contains" in x:
                assert any(
                    e.source == x["source"] and e.kind == x["kind"] and x["via_contains"] in e.via
                    for e in edges
                ), edges
        for e in edges:
            assert e.path and e.path.endswith("gaad.json")
            assert e.conditional == bool(e.condition)
    else:
        mine = [e for e in edges if e.source in attackers and e.kind == expected["kind"]]
        if expected["kind"] == "aws-self-modify":
            action = expected["exploitable"][0].get("via_contains", "")
            mine = [e for e in mine if action in e.via]
        assert mine == [], mine


def test_fixtures_are_what_the_cases_write(tmp_path: Path) -> None:
    """The committed fixtures are the generator's output (regenerate: python -m tests.graph.aws_cases)."""
    aws_cases.write(tmp_path)
    fresh = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*.json"))
    committed = sorted(p.relative_to(ROOT) for p in ROOT.rglob("*.json"))
    assert fresh == committed
    for rel in fresh:
        assert (tmp_path / rel).read_bytes() == (ROOT / rel).read_bytes(), rel


def test_every_technique_has_both_cases() -> None:
    techniques = {c.technique for c in aws_cases.CASES}
    assert len(techniques) == len(aws_cases.CASES)
    for t in techniques:
        assert (ROOT / t / "exploitable" / "gaad.json").is_file()
        assert (ROOT / t / "lookalike" / "gaad.json").is_file()


def test_the_documented_table_is_measured() -> None:
    """docs/escalation-aws.md's table is what the fixtures give (rewrite: python -m tests.graph.aws_table)."""
    from tests.graph import aws_table

    rows = aws_table.measure()
    assert all(r[4] == 1 and r[6] == 0 for r in rows), [r for r in rows if r[4] != 1 or r[6] != 0]
    assert aws_table.table_in_doc(aws_table.DOC.read_text(encoding="utf-8")) == aws_table.markdown(rows)
