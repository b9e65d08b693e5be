from __future__ import annotations

import json
from pathlib import Path

import pytest

from nhiscan.analyze.privilege import assess
from nhiscan.analyze.privilege_azure import grant_level, scope_level
from nhiscan.sources.azure import exports
from nhiscan.sources.exports import read_parsed
from tests.clouds.conftest import AZURE_DIR, azure_inputs, inventory, scan

SUB = "/subscriptions/9c2b7e41-5d3a-4f6e-8b1c-0a9d8e7f6c5b"
TENANT = "0b6f5c2e-3a4d-4c8e-9f1a-2d7e6b5c4a39"


def by_name(inputs: list[str]):  # type: ignore[no-untyped-def]
    return {i.name: i for i in inventory(inputs).identities}


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("sp-list.json", "azure-sp-list"),
        ("app-list.json", "azure-app-list"),
        ("role-assignments.json", "azure-role-assignments"),
        ("role-assignments-mg-arm.json", "azure-role-assignments"),
    ],
)
def test_detects_az_exports(name: str, kind: str) -> None:
    assert exports.detect(read_parsed(str(AZURE_DIR / name))) == kind


def test_identities_credentials_and_tenant() -> None:
    ids = by_name(azure_inputs())
    gh = ids["github-deployer"]
    assert gh.kind == "azure-service-principal" and gh.scope == TENANT and gh.owner == "platform-team"
    secrets = [c for c in gh.credentials if c.kind == "azure-client-secret"]
    assert len(secrets) == 2
    assert all(len(c.attributes["hint"]) == 3 for c in secrets)
    # 7 fractional digits (as Graph writes them) still parse.
    assert any(c.created and c.created.year == 2026 and c.created.month == 5 for c in secrets)
    backup = ids["backup-automation"]
    assert {c.kind for c in backup.credentials} == {"azure-client-secret", "azure-certificate"}
    mi = ids["id-aks-prod-kubelet"]
    assert mi.kind == "azure-managed-identity" and mi.credentials == ()
    assert mi.attributes["managed_identity_type"] == "user-assigned"
    assert ids["Fabrikam Backup Cloud"].attributes.get("third_party") is True
    assert ids["Microsoft Graph"].attributes.get("managed_by_provider") is True
    assert not ids["github-deployer"].attributes.get("third_party")


def test_role_assignments_flat_and_arm_forms() -> None:
    ids = by_name(azure_inputs())
    assert [(g.role, g.scope) for g in ids["github-deployer"].grants] == [("Contributor", SUB)]
    legacy = ids["legacy-reporting"].grants
    # The ARM form names the role only by definition id; built-ins are resolved.
    assert legacy[0].role == "Role Based Access Control Administrator"
    assert legacy[0].condition and "roleAssignments" in legacy[0].condition["expression"]
    # Users are not non-human identities; a deleted service principal that still holds a role is kept.
    names = set(ids)
    assert "alice@contoso.com" not in names
    orphan = next(
        i
        for i in inventory(azure_inputs()).identities
        if not i.attributes.get("in_service_principal_list", True)
    )
    assert orphan.grants[0].role == "Contributor"


def test_scope_levels_and_privilege() -> None:
    assert scope_level("/") == "root"
    assert scope_level("/providers/Microsoft.Management/managementGroups/mg1") == "management-group"
    assert scope_level(SUB) == "subscription"
    assert scope_level(SUB + "/resourceGroups/rg") == "resource-group"
    assert grant_level("Contributor", SUB) == "admin"
    assert grant_level("Contributor", SUB + "/resourceGroups/rg") == "write"
    assert grant_level("Owner", SUB + "/resourceGroups/rg") == "escalation"
    assert grant_level("Reader", SUB) == "read"
    ids = by_name(azure_inputs())
    assert assess(ids["CloudHealth"], {}).level == "read"
    assert assess(ids["vm-jumpbox-01"], {}).level == "escalation"


def test_rules_on_the_realistic_tenant() -> None:
    report = scan(azure_inputs())
    assert not report.errors
    ids = {i.id: i.name for i in report.inventory.identities}
    got = {(f.rule_id, ids.get(f.identity_id or ""), f.severity.value) for f in report.findings}
    assert ("azure-third-party-app-privileged", "Fabrikam Backup Cloud", "critical") in got
    assert ("azure-sp-privileged-role", "github-deployer", "high") in got
    assert ("azure-secret-long-lived", "github-deployer", "medium") in got
    assert ("azure-credential-expired-still-present", "legacy-reporting", "low") in got
    assert not any(r == "azure-third-party-app-privileged" and n == "CloudHealth" for r, n, _ in got)
    assert not any(n == "backup-automation" and r == "azure-secret-long-lived" for r, n, _ in got)


def test_tenant_from_scope_wins(tmp_path: Path) -> None:
    inv = inventory([f"11111111-2222-4333-8444-555555555555={AZURE_DIR / 'sp-list.json'}"])
    assert {i.scope for i in inv.identities} == {"11111111-2222-4333-8444-555555555555"}
    # With the tenant given, the tenant's own apps become "third party" relative to it: scope matters.
    data = json.loads((AZURE_DIR / "sp-list.json").read_text())
    assert any(d["appOwnerOrganizationId"] == TENANT for d in data)
