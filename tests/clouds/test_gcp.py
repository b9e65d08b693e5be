from __future__ import annotations

import json
from pathlib import Path

import pytest

from nhiscan.analyze.privilege import assess
from nhiscan.core import collect_inventory
from nhiscan.sources.documents import Parsed
from nhiscan.sources.exports import read_parsed
from nhiscan.sources.gcp import exports, is_service_agent
from tests.clouds.conftest import GCP_DIR, by_id, config, gcp_inputs, inventory, scan

CI = "ci-deployer@acme-prod.iam.gserviceaccount.com"


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("service-accounts.json", "gcp-service-accounts"),
        ("keys-ci-deployer.json", "gcp-service-account-keys"),
        ("project-iam-policy.json", "gcp-iam-policy"),
        ("asset-iam-policies.json", "gcp-asset-iam-policies"),
    ],
)
def test_detects_each_gcloud_export_from_content(name: str, kind: str, tmp_path: Path) -> None:
    # Same content under a meaningless name: detection never looks at the file name.
    copy = tmp_path / "export.txt"
    copy.write_text((GCP_DIR / name).read_text())
    assert exports.detect(read_parsed(str(copy))) == kind


def test_does_not_claim_other_json() -> None:
    for data in ({"UserDetailList": []}, [{"email": "a@b.c"}], {"bindings": "x"}, []):
        assert exports.detect(Parsed("x.json", json.dumps(data), data)) is None


def test_inventory_merges_accounts_keys_and_bindings() -> None:
    ids = by_id(inventory(gcp_inputs()))
    ci = ids[CI]
    assert ci.kind == "gcp-service-account" and ci.scope == "acme-prod" and ci.owner == "platform-team"
    keys = {c.id: c for c in ci.credentials}
    old = keys["b493afd584c7bf4a35bdd841d6a6349176b556ba"]
    assert old.expires is None and old.created is not None and old.created.year == 2025
    assert old.attributes["key_type"] == "USER_MANAGED" and old.attributes["service_account"] == CI
    system = [c for c in keys.values() if c.attributes["key_type"] == "SYSTEM_MANAGED"]
    assert len(system) == 1 and system[0].expires is not None
    roles = {(g.role, g.scope) for g in ci.grants}
    assert ("roles/run.admin", "projects/acme-prod") in roles
    # Project policy and asset search both list the project bindings: no duplicates.
    assert len(ci.grants) == len(roles)
    legacy = ids["legacy-etl@acme-prod.iam.gserviceaccount.com"]
    assert [c.active for c in sorted(legacy.credentials, key=lambda c: c.created or c.id)] == [False, True]


def test_conditions_agents_defaults_and_cross_project() -> None:
    ids = by_id(inventory(gcp_inputs()))
    dp = ids["data-pipeline@acme-prod.iam.gserviceaccount.com"]
    cond = [g for g in dp.grants if g.role == "roles/secretmanager.secretAccessor"]
    assert cond and cond[0].condition and cond[0].condition["title"] == "warehouse-secrets-only"
    agent = ids["service-482913507164@compute-system.iam.gserviceaccount.com"]
    assert agent.attributes.get("managed_by_provider") is True and agent.scope == "acme-prod"
    compute = ids["482913507164-compute@developer.gserviceaccount.com"]
    assert compute.attributes.get("default_service_account") and not compute.attributes.get(
        "managed_by_provider"
    )
    runner = ids["ci-runner@acme-shared-ci.iam.gserviceaccount.com"]
    assert runner.scope == "acme-shared-ci"
    assert runner.attributes["cross_project_grants"] == ["projects/acme-prod"]
    assert "cross_project_grants" not in ids[CI].attributes


def test_service_agent_classification() -> None:
    assert is_service_agent("service-123@gcp-sa-pubsub.iam.gserviceaccount.com")
    assert is_service_agent("123@cloudservices.gserviceaccount.com")
    assert not is_service_agent("ci@my-project.iam.gserviceaccount.com")
    assert not is_service_agent("123-compute@developer.gserviceaccount.com")
    assert not is_service_agent("my-project@appspot.gserviceaccount.com")


def test_project_policy_without_scope_is_an_error_naming_the_fix() -> None:
    policy = str(GCP_DIR / "project-iam-policy.json")
    inv, errors = collect_inventory(config([str(GCP_DIR / "service-accounts.json"), policy]))
    assert len(errors) == 1 and errors[0].source == policy and "PROJECT_ID=FILE" in errors[0].message
    assert inv.identities  # the good input is still normalised


def test_privilege_levels() -> None:
    ids = by_id(inventory(gcp_inputs()))
    memo: dict[str, object] = {}
    assert assess(ids["terraform@acme-prod.iam.gserviceaccount.com"], memo).level == "admin"
    assert assess(ids[CI], memo).level == "escalation"
    # Token creator on one service account only: escalation toward that account.
    web = assess(ids["web-frontend@acme-prod.iam.gserviceaccount.com"], memo)
    assert web.level == "escalation" and any("serviceAccounts/" in r for r in web.reasons)
    assert assess(ids["data-pipeline@acme-prod.iam.gserviceaccount.com"], memo).level in ("write", "read")


def test_rules_on_the_realistic_project() -> None:
    report = scan(gcp_inputs())
    assert not report.errors
    got = {(f.rule_id, f.identity_id, f.severity.value) for f in report.findings}
    assert ("gcp-sa-primitive-role", "terraform@acme-prod.iam.gserviceaccount.com", "critical") in got
    assert ("gcp-sa-primitive-role", "legacy-etl@acme-prod.iam.gserviceaccount.com", "high") in got
    assert (
        "gcp-default-compute-sa-editor",
        "482913507164-compute@developer.gserviceaccount.com",
        "high",
    ) in got
    assert ("gcp-sa-privilege-escalation", "web-frontend@acme-prod.iam.gserviceaccount.com", "medium") in got
    too_old = {f.credential_id for f in report.findings if f.rule_id == "gcp-sa-key-too-old"}
    assert "b493afd584c7bf4a35bdd841d6a6349176b556ba" in too_old
    # Disabled and Google-managed keys are never reported; agents holding Editor are not either.
    legacy_disabled = "8580b59a52c1d256f4a034e5da3621b418cefa3b"
    assert legacy_disabled not in too_old
    flagged = {f.identity_id for f in report.findings if f.rule_id == "gcp-sa-primitive-role"}
    assert "482913507164@cloudservices.gserviceaccount.com" not in flagged
