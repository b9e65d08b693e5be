"""The escalation fixtures through the installed CLI: ``nhiscan inventory`` of a fixture directory,
read back as an input, gives the same AWS edges as the export itself (conditions, boundaries,
trusts and policy holders survive the inventory document that sharded scans merge)."""

from __future__ import annotations

from pathlib import Path

import pytest

from nhiscan.analyze.graph import edges_aws
from nhiscan.config import InputSpec, ScanConfig, Settings
from nhiscan.core import collect_inventory
from tests.conftest import AS_OF, run_cli
from tests.graph.test_aws_techniques import AS_OF as AS_OF_DT
from tests.graph.test_aws_techniques import ROOT, load_edges

SAMPLE = (
    "passrole-ec2",
    "create-policy-version",
    "put-user-policy",
    "delete-permissions-boundary",
    "condition-undecided",
    "add-user-to-group",
)


@pytest.mark.parametrize("technique", SAMPLE)
def test_inventory_document_keeps_the_edges(technique: str, tmp_path: Path) -> None:
    for which in ("exploitable", "lookalike"):
        case = ROOT / technique / which
        out = tmp_path / f"{which}.json"
        result = run_cli("inventory", "--input", str(case), "--as-of", AS_OF, "-o", str(out))
        assert result.code == 0, result.stderr
        config = ScanConfig(as_of=AS_OF_DT, inputs=(InputSpec.parse(str(out)),), settings=Settings())
        inventory, errors = collect_inventory(config)
        assert not errors
        read_back = list(edges_aws.edges(inventory, AS_OF_DT))
        assert all(e.path == str(case / "gaad.json") for e in read_back)  # the inventory keeps the export
        again = {(e.source, e.target, e.kind, e.conditional) for e in read_back}
        direct = {(e.source, e.target, e.kind, e.conditional) for e in load_edges(case)}
        assert again == direct
        assert bool(direct) or which == "lookalike"
