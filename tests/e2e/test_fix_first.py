"""The README quick start through the installed CLI: what to fix first comes first in every format,
the terminal view reads at 80 columns, repeated low findings share a row, identities carry the names
people know, and a raised severity says why."""

from __future__ import annotations

import csv
import io
import json
import re
import shlex
from typing import Any

import pytest

from tests.conftest import ROOT, run_cli


def quickstart_args() -> list[str]:
    """The arguments of the README's quick-start command (after `nhiscan scan`), as documented."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("<!-- quickstart -->", 1)[1].split("<!-- /quickstart -->", 1)[0]
    line = next(x for x in block.splitlines() if "nhiscan scan" in x)
    return shlex.split(line.split("nhiscan scan", 1)[1])


@pytest.fixture(scope="module")
def quickstart() -> dict[str, Any]:
    res = run_cli("scan", *quickstart_args(), "--format", "json", cwd=ROOT)
    assert res.code == 0, res.stderr
    data: dict[str, Any] = res.json()
    return data


def _is_leaked_admin_key(f: dict[str, Any], identities: dict[str, dict[str, Any]]) -> bool:
    ident = identities[f["identity_id"]]
    return (
        f["rule_id"] == "leaked-credential-linked"
        and f["evidence"]["privilege"] == "admin"
        and f["evidence"]["credential_active"] is True
        and "admin-equivalent" in ident["risk_factors"]
    )


def test_quickstart_json_puts_the_leaked_admin_key_first(quickstart: dict[str, Any]) -> None:
    identities = {i["id"]: i for i in quickstart["identities"]}
    first = quickstart["findings"][0]
    assert _is_leaked_admin_key(first, identities), first["rule_id"]
    assert identities[first["identity_id"]]["name"] == "ci-deploy"
    # A missing owner (low) comes after every critical and high finding.
    ranks = {"critical": 4, "high": 3, "medium": 2, "low": 1, "info": 0}
    order = [ranks[f["severity"]] for f in quickstart["findings"]]
    assert order == sorted(order, reverse=True)
    owners = [n for n, f in enumerate(quickstart["findings"]) if f["rule_id"] == "nhi-no-owner"]
    assert len(owners) == 21 and min(owners) > 0


def test_quickstart_order_is_the_same_in_every_format(quickstart: dict[str, Any]) -> None:
    expected = [f["fingerprint"] for f in quickstart["findings"]]
    sarif = run_cli("scan", *quickstart_args(), "--format", "sarif", cwd=ROOT)
    results = json.loads(sarif.stdout)["runs"][0]["results"]
    assert [r["ruleId"] for r in results] == [f["rule_id"] for f in quickstart["findings"]]
    assert results[0]["ruleId"] == "leaked-credential-linked"
    rows = list(
        csv.DictReader(io.StringIO(run_cli("scan", *quickstart_args(), "--format", "csv", cwd=ROOT).stdout))
    )
    assert [r["fingerprint"] for r in rows] == expected
    md = run_cli("scan", *quickstart_args(), "--format", "markdown", cwd=ROOT).stdout
    first_row = next(x for x in md.split("### Findings", 1)[1].splitlines() if x.startswith("| 1 |"))
    assert "`leaked-credential-linked`" in first_row and "ci-deploy" in first_row
    page = run_cli("scan", *quickstart_args(), "--format", "html", cwd=ROOT).stdout
    shown = re.findall(r'data-fingerprint="([^"]+)"', page)
    assert shown == expected


def test_quickstart_table_first_row_is_the_leaked_admin_key() -> None:
    for columns in ("200", "80"):
        out = run_cli("scan", *quickstart_args(), cwd=ROOT, env={"COLUMNS": columns}).stdout
        findings = out.split("Findings, in the order to fix them", 1)[1]
        first = findings.split(" 2.", 1)[0] if columns == "80" else findings.split("│  2 │", 1)[0]
        words = set(re.sub(r"[│┃\s]+", " ", first).split())
        assert "leaked-credential-linked" in words, columns
        assert {"ci-deploy", "privilege:", "admin"} <= words, columns


def test_table_at_80_columns_fits_and_keeps_rule_ids_whole(quickstart: dict[str, Any]) -> None:
    res = run_cli("scan", *quickstart_args(), cwd=ROOT, env={"COLUMNS": "80"})
    assert res.code == 0, res.stderr
    lines = res.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    text = res.stdout.split("Findings, in the order to fix them", 1)[1]
    for rule_id in {f["rule_id"] for f in quickstart["findings"]}:
        assert re.search(rf"(?<![\w-]){re.escape(rule_id)}(?![\w-])", text), rule_id
    # stacked: the message of the first finding starts at the left, not in a 14-character column
    message_lines = text.split(" 2.", 1)[0].splitlines()[3:]
    assert any(len(line.strip()) > 60 for line in message_lines)
    assert "…" not in "".join(x for x in lines if "leaked-credential" in x or "aws-admin-equ" in x)


def test_repeated_low_findings_share_one_row_with_a_count(quickstart: dict[str, Any]) -> None:
    owners = [f for f in quickstart["findings"] if f["rule_id"] == "nhi-no-owner"]
    assert len(owners) == 21  # JSON keeps every finding
    for columns in ("80", "200"):
        out = run_cli("scan", *quickstart_args(), cwd=ROOT, env={"COLUMNS": columns}).stdout
        section = out.split("Findings, in the order to fix them", 1)[1]
        assert section.count("nhi-no-owner") == 1, columns
        assert "\u00d721" in section and "21 identities" in section
    md = run_cli("scan", *quickstart_args(), "--format", "markdown", cwd=ROOT).stdout
    rows = [x for x in md.splitlines() if "`nhi-no-owner`" in x]
    assert len(rows) == 1 and "\u00d721" in rows[0] and "and 16 more" in rows[0]


def test_identities_by_the_names_people_know(quickstart: dict[str, Any]) -> None:
    out = run_cli("scan", *quickstart_args(), cwd=ROOT, env={"COLUMNS": "80"}).stdout
    section = out.split("Findings, in the order to fix them", 1)[1]
    azure = [f for f in quickstart["findings"] if f["identity_id"] and f["rule_id"].startswith("azure-")]
    assert azure
    for f in azure:
        assert f["identity_id"] not in section  # an object id GUID is never the place shown
    assert "Fabrikam Backup Cloud (" in section and "github-deployer (" in section
    # Kubernetes: no cluster named in the export, so no scope that reads like a namespace
    k8s = [i for i in quickstart["identities"] if i["provider"] == "kubernetes"]
    assert k8s and {i["scope"] for i in k8s} == {"(cluster unnamed)"}
    assert "kube-system/ci-deployer (cluster unnamed)" in section
    assert "(default)" not in out


def test_named_cluster_keeps_its_name(tmp_path: Any) -> None:
    export = ROOT / "fixtures" / "kubernetes" / "prod-cluster"
    res = run_cli("inventory", "--input", f"prod-eu={export}", "--as-of", "2026-11-01")
    data = json.loads(res.stdout)
    scopes = {i["scope"] for i in data["identities"] if i["provider"] == "kubernetes"}
    assert scopes == {"prod-eu"}


def test_raised_severity_is_explained(quickstart: dict[str, Any]) -> None:
    rules = {r["id"]: r for r in json.loads(run_cli("rules", "--format", "json").stdout)}
    ranks = {"critical": 4, "high": 3, "medium": 2, "low": 1, "info": 0}
    raised = [
        f for f in quickstart["findings"] if ranks[f["severity"]] > ranks[rules[f["rule_id"]]["severity"]]
    ]
    assert raised
    for f in raised:
        rule = rules[f["rule_id"]]["severity"]
        assert f"(severity raised from the rule's {rule} to {f['severity']}: " in f["message"], f["rule_id"]
    first = quickstart["findings"][0]["message"]
    assert first.endswith("the credential still works and the identity is admin-equivalent)")
