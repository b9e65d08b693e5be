"""The logging posture through the installed console script: every view, re-rendering, inventories."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import FIXTURES, run_cli

INPUTS = (
    "--input",
    str(FIXTURES / "aws/acme-prod"),
    "--input",
    f"acme-prod={FIXTURES / 'gcp/acme-prod'}",
    "--input",
    str(FIXTURES / "azure/contoso"),
    "--input",
    str(FIXTURES / "kubernetes/prod-cluster"),
)
COMMON = ("--as-of", "2026-11-01", "--fail-on", "none")
EXPECTED = {"aws": "partial", "gcp": "partial", "azure": "partial", "kubernetes": "not-logged"}


def test_bundled_fixtures_state_what_is_logged_in_every_view(tmp_path: Path) -> None:
    table = run_cli("scan", *INPUTS, *COMMON)
    assert table.code == 0, table.stderr
    section = table.stdout.split("Identity activity logging", 1)[1].split("Identities by risk", 1)[0]
    for provider, status in EXPECTED.items():
        assert any(provider in line and status in line for line in section.splitlines()), (provider, section)
    assert "IAM read calls, denied ones included" in section
    assert "ServicePrincipalSignInLogs" in section

    out = tmp_path / "r.json"
    res = run_cli("scan", *INPUTS, *COMMON, "--format", "json", "-o", str(out))
    assert res.code == 0, res.stderr
    result = json.loads(out.read_text())
    assert result["summary"]["logging"] == EXPECTED
    rules = {f["rule_id"] for f in result["findings"]}
    assert {
        "aws-identity-calls-not-logged",
        "aws-trail-no-log-validation",
        "gcp-iam-data-access-not-logged",
        "gcp-audit-log-exempts-service-account",
        "azure-identity-signin-logs-not-exported",
        "k8s-audit-logging-off",
    } <= rules
    assert "azure-activity-log-not-exported" not in rules  # the subscription exports Administrative

    md = run_cli("report", str(out), "--format", "markdown")
    assert md.code == 0, md.stderr
    assert "### Identity activity logging" in md.stdout
    assert "| kubernetes | (cluster unnamed) | not-logged |" in md.stdout
    html = run_cli("report", str(out), "--format", "html")
    assert html.code == 0, html.stderr
    assert '<section id="logging">' in html.stdout and "logging-not-logged" in html.stdout
    again = run_cli("report", str(out), "--format", "json")
    assert json.loads(again.stdout)["logging"] == result["logging"]


def test_inventory_keeps_the_facts_and_a_later_scan_evaluates_the_same(tmp_path: Path) -> None:
    inv = tmp_path / "inv.json"
    res = run_cli("inventory", *INPUTS, "--as-of", "2026-11-01", "-o", str(inv))
    assert res.code == 0, res.stderr
    kinds = {c["kind"] for c in json.loads(inv.read_text())["log_configs"]}
    assert kinds == {
        "aws-cloudtrail",
        "gcp-audit-configs",
        "azure-activity-log",
        "azure-entra-diagnostics",
        "kubernetes-audit",
    }
    later = run_cli("scan", "--input", str(inv), *COMMON, "--format", "json")
    direct = run_cli("scan", *INPUTS, *COMMON, "--format", "json")
    assert later.json()["logging"] == direct.json()["logging"]


def test_names_from_exports_are_shown_escaped(tmp_path: Path) -> None:
    arn = "arn:aws:cloudtrail:eu-west-1:111122223333:trail/x"
    trails = {
        "trailList": [
            {
                "Name": "evil\x1b[2J\u202etrail",
                "TrailARN": arn,
                "IsMultiRegionTrail": False,
                "IncludeGlobalServiceEvents": True,
                "LogFileValidationEnabled": False,
                "HasCustomEventSelectors": False,
            }
        ]
    }
    (tmp_path / "t.json").write_text(json.dumps(trails))
    (tmp_path / "s.json").write_text(json.dumps({"IsLogging": True}))
    res = run_cli(
        "scan", "--input", str(tmp_path / "t.json"), "--input", f"{arn}={tmp_path / 's.json'}", *COMMON
    )
    assert res.code == 0, res.stderr
    assert "\x1b" not in res.stdout and "\u202e" not in res.stdout
    assert "evil\\x1b[2J" in res.stdout
