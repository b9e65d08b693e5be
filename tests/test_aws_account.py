"""The acme-prod account export end to end: every planted problem found, clean identities clean."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from tests.conftest import AS_OF, FIXTURES, run_cli

ACME = FIXTURES / "aws" / "acme-prod"
EXPECTED = yaml.safe_load((ACME / "expected.yaml").read_text())
MEDIUM_UP = {"medium", "high", "critical"}


@pytest.fixture(scope="module")
def result() -> Any:
    args = ["scan", "--format", "json", "--as-of", AS_OF]
    for name in ("gaad.json", "credential-report.csv", "list-access-keys.json"):
        args += ["--input", str(ACME / name)]
    res = run_cli(*args)
    assert res.code == 1, res.stderr  # findings at or above high
    assert res.stderr.strip() == ""
    return res.json()


def test_every_planted_problem_is_found_with_its_owasp_id(result: Any) -> None:
    found = {(f["rule_id"], f["identity_id"]): f for f in result["findings"]}
    missing = []
    for p in EXPECTED["problems"]:
        f = found.get((p["rule"], p["identity"]))
        if f is None:
            missing.append(f"{p['rule']} on {p['identity']}")
        else:
            assert p["owasp"] in f["owasp_nhi"], (p, f["owasp_nhi"])
    assert not missing, "not found:\n" + "\n".join(missing)


def test_clean_identities_have_no_medium_or_higher_finding(result: Any) -> None:
    planted = {p["identity"] for p in EXPECTED["problems"]}
    noisy = [
        f"{f['severity']} {f['rule_id']} on {f['identity_id']}: {f['message']}"
        for f in result["findings"]
        if f["identity_id"] not in planted and f["severity"] in MEDIUM_UP
    ]
    assert not noisy, "\n".join(noisy)


def test_no_unexpected_medium_findings_on_planted_identities(result: Any) -> None:
    expected = {(p["rule"], p["identity"]) for p in EXPECTED["problems"]}
    extra = [
        f"{f['rule_id']} on {f['identity_id']}"
        for f in result["findings"]
        if f["severity"] in MEDIUM_UP and (f["rule_id"], f["identity_id"]) not in expected
    ]
    assert not extra, extra


def test_inventory_shape(result: Any) -> None:
    ids = {i["id"]: i for i in result["identities"]}
    assert len([i for i in ids.values() if i["kind"] == "aws-iam-user"]) == 18
    assert ids["arn:aws:iam::111122223333:root"]["kind"] == "aws-root-account"
    bob = ids["arn:aws:iam::111122223333:user/bob.martin"]
    assert bob["nonhuman"] is False
    key = next(c for c in bob["credentials"] if c["kind"] == "aws-access-key")
    assert key["id"].startswith("AKIA") and key["last_used"].startswith("2026-10-31")
    assert ids["arn:aws:iam::111122223333:user/service/svc-backup"]["nonhuman"] is True
    assert ids["arn:aws:iam::111122223333:user/service/ci-deploy"]["owner"] == "platform-team"
    assert {s["kind"] for s in result["sources"]} == {"aws-gaad", "aws-credential-report", "aws-access-keys"}
    # risk: the admin CI user with a static key scores critical
    assert ids["arn:aws:iam::111122223333:user/service/ci-deploy"]["risk_level"] in ("high", "critical")


def test_escalation_evidence_lists_concrete_paths(result: Any) -> None:
    f = next(
        f
        for f in result["findings"]
        if f["rule_id"] == "aws-privilege-escalation" and f["identity_id"].endswith("terraform-runner")
    )
    assert "passrole-lambda-invoke" in f["message"]


def test_inventory_round_trip_gives_the_same_findings(tmp_path: Any, result: Any) -> None:
    inv = tmp_path / "inventory.json"
    args = ["inventory", "--as-of", AS_OF, "--output", str(inv)]
    for name in ("gaad.json", "credential-report.csv", "list-access-keys.json"):
        args += ["--input", str(ACME / name)]
    assert run_cli(*args).code == 0
    again = run_cli("scan", "--input", str(inv), "--format", "json", "--as-of", AS_OF).json()
    key = lambda d: sorted((f["rule_id"], f["identity_id"], f["severity"]) for f in d["findings"])  # noqa: E731
    assert key(again) == key(result)


def test_escalation_evidence_names_actions_and_group_inheritance(result: Any) -> None:
    f = next(
        f
        for f in result["findings"]
        if f["rule_id"] == "aws-privilege-escalation" and f["identity_id"].endswith("svc-data-sync")
    )
    (path,) = f["evidence"]["paths"]
    assert path["name"] == "create-access-key" and path["actions"] == ["iam:CreateAccessKey"]
    assert path["conditional"] is False
