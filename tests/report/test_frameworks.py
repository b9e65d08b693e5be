"""Framework mappings: NIST CSF 2.0 through OWASP NHI ids, shown by `nhiscan rules ID`."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from nhiscan.analyze.rules import controls_for, load_catalog, load_frameworks, rules_dir
from nhiscan.errors import NhiscanError
from nhiscan.model import OWASP_NHI
from tests.conftest import run_cli

CSF_ID = re.compile(r"^(GV|ID|PR|DE|RS|RC)\.[A-Z]{2}-\d{2}$")
# CSF 2.0 categories that exist (NIST CSWP 29), with their highest subcategory number
CSF_CATEGORIES = {
    "GV.OC": 5, "GV.RM": 7, "GV.RR": 4, "GV.PO": 2, "GV.OV": 3, "GV.SC": 10,
    "ID.AM": 8, "ID.RA": 10, "ID.IM": 4,
    "PR.AA": 6, "PR.AT": 2, "PR.DS": 11, "PR.PS": 6, "PR.IR": 4,
    "DE.CM": 9, "DE.AE": 8,
    "RS.MA": 5, "RS.AN": 8, "RS.CO": 3, "RS.MI": 2,
    "RC.RP": 6, "RC.CO": 4,
}  # fmt: skip


def test_nist_csf_file_uses_real_subcategories_and_covers_every_owasp_risk() -> None:
    data = yaml.safe_load((rules_dir() / "frameworks" / "nist-csf-2.0.yaml").read_text(encoding="utf-8"))
    assert data["framework"] == "NIST CSF 2.0"
    assert set(data["owasp"]) == set(OWASP_NHI)
    ids = [c for v in [*data["owasp"].values(), *data["mappings"].values()] for c in v]
    for cid in ids:
        assert CSF_ID.match(cid), cid
        cat, num = cid.rsplit("-", 1)
        assert cat in CSF_CATEGORIES and 1 <= int(num) <= CSF_CATEGORIES[cat], cid
    assert "PR.AA-05" in data["owasp"]["NHI5:2025"]  # least privilege
    assert any(c.startswith("GV.SC") for c in data["owasp"]["NHI3:2025"])  # third parties


def test_every_rule_inherits_controls_through_its_owasp_ids() -> None:
    tables = load_frameworks()
    for rule in load_catalog():
        inherited = controls_for(tables["NIST CSF 2.0"], rule.owasp_nhi)
        assert inherited, rule.id
        assert set(inherited) <= set(rule.frameworks["NIST CSF 2.0"])


def test_rules_command_shows_the_mapping() -> None:
    res = run_cli("rules", "nhi-no-owner")
    assert res.code == 0, res.stderr
    line = next(x for x in res.stdout.splitlines() if x.startswith("NIST CSF 2.0:"))
    assert "PR.AA-01" in line and "ID.AM-08" in line and "GV.RR-02" in line
    js = run_cli("rules", "nhi-no-owner", "--format", "json").json()
    assert js["frameworks"]["NIST CSF 2.0"] == ["ID.AM-08", "PR.AA-01", "PR.AA-05", "GV.RR-02"]


def test_framework_file_with_unknown_owasp_id_is_rejected(tmp_path: Path) -> None:
    from nhiscan.analyze.rules import _load_frameworks

    (tmp_path / "x.yaml").write_text("framework: X\nowasp:\n  NHI11:2025: [A]\n", encoding="utf-8")
    with pytest.raises(NhiscanError, match="NHI11:2025"):
        _load_frameworks(tmp_path)


def test_rule_only_mapping_files_still_work(tmp_path: Path) -> None:
    from nhiscan.analyze.rules import _load_frameworks

    (tmp_path / "cis.yaml").write_text("framework: CIS\nmappings:\n  r1: ['1.4']\n", encoding="utf-8")
    table = _load_frameworks(tmp_path)["CIS"]
    assert controls_for(table, ("NHI1:2025",), "r1") == ("1.4",)
