"""The facts the GCP and Azure sources keep for the escalation graph: workload identity pool
members and project ancestry (GCP); owners, Microsoft Graph application permissions and directory
roles (Azure), read from their real export shapes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nhiscan.config import InputSpec, ScanConfig
from nhiscan.core import collect_inventory
from nhiscan.sources.exports import detect, read_parsed
from tests.conftest import FIXTURES
from tests.graph.xcloud_fixtures import AS_OF, ESCALATION, load


def test_gcp_asset_results_give_each_account_its_folders_and_organization() -> None:
    config = ScanConfig(as_of=AS_OF, inputs=(InputSpec(str(FIXTURES / "gcp" / "acme-prod"), "acme-prod"),))
    inventory, errors = collect_inventory(config)
    assert errors == []
    ci = next(i for i in inventory.identities if i.id == "ci-deployer@acme-prod.iam.gserviceaccount.com")
    assert ci.attributes["ancestors"] == ["folders/771203948812", "organizations/605123987321"]
    # an account of a project no asset result describes has no ancestry
    assert all("ancestors" not in i.attributes for i in inventory.identities if i.scope not in ("acme-prod",))


def test_gcp_workload_pool_members_are_kept_on_the_account_they_are_bound_on() -> None:
    inventory = load("gcp", "workload-identity-federation", "lookalike")
    deployer = next(i for i in inventory.identities if i.name == "Deployer")
    etl = next(i for i in inventory.identities if i.name == "ETL jobs")
    roles = sorted(
        (p["role"], p["resource"].split("/")[-1] == "acme-lab")
        for p in deployer.attributes["federated_principals"]
    )
    # the SA-level binding (resource named by unique id) and the project-level one
    assert roles == [
        ("roles/iam.serviceAccountViewer", False),
        ("roles/iam.workloadIdentityPoolViewer", True),
    ]
    assert [p["role"] for p in etl.attributes["federated_principals"]] == [
        "roles/iam.workloadIdentityPoolViewer"
    ]
    # pool members are not service accounts: no identity is made for them
    assert not any("principalSet" in i.id for i in inventory.identities)


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        (
            "graph-app-roles/exploitable/app-role-assignments-app-provisioner.json",
            "azure-app-role-assignments",
        ),
        ("directory-roles/exploitable/directory-role-assignments.json", "azure-directory-role-assignments"),
        ("app-owner/exploitable/app-list.json", "azure-app-list"),
    ],
)
def test_graph_exports_are_recognised(path: str, kind: str) -> None:
    assert detect(read_parsed(str(ESCALATION / "azure" / path))) == ("azure", kind)


def test_azure_graph_permissions_directory_roles_and_owners_become_attributes() -> None:
    roles = load("azure", "graph-app-roles", "exploitable")
    by_name = {i.name: i for i in roles.identities}
    assert by_name["app-provisioner"].attributes["graph_app_roles"] == ["Application.ReadWrite.All"]
    assert by_name["role-bootstrap"].attributes["graph_app_roles"] == ["RoleManagement.ReadWrite.Directory"]
    assert "graph_app_roles" not in by_name["payroll-sync"].attributes

    directory = load("azure", "directory-roles", "lookalike")
    by_name = {i.name: i for i in directory.identities}
    scoped = by_name["app-admin-automation"].attributes["directory_roles"]
    assert len(scoped) == 1 and scoped[0].startswith("Application Administrator (/")
    assert by_name["tenant-bootstrap"].attributes["directory_roles"] == ["Directory Readers"]

    owners = load("azure", "app-owner", "exploitable")
    by_name = {i.name: i for i in owners.identities}
    kept = by_name["payroll-sync"].attributes["owners"]
    assert [(o["type"], o["of"]) for o in kept] == [
        ("servicePrincipal", "application"),
        ("user", "application"),
    ]
    assert kept[0]["id"] == by_name["automation-runner"].id


def test_unreadable_app_role_assignment_is_one_error_and_the_rest_is_read(tmp_path: Path) -> None:
    page = json.loads(
        (
            ESCALATION / "azure/graph-app-roles/exploitable/app-role-assignments-app-provisioner.json"
        ).read_text()
    )
    good = page["value"][0]
    page["value"] = [{**good, "principalId": None}, good]
    broken = tmp_path / "assignments.json"
    broken.write_text(json.dumps(page))
    sps = ESCALATION / "azure/graph-app-roles/exploitable/sp-list.json"
    config = ScanConfig(as_of=AS_OF, inputs=(InputSpec(str(broken)), InputSpec(str(sps))))
    inventory, errors = collect_inventory(config)
    assert len(errors) == 1 and "no principalId" in errors[0].message and errors[0].source == str(broken)
    by_name = {i.name: i for i in inventory.identities}
    assert by_name["app-provisioner"].attributes["graph_app_roles"] == ["Application.ReadWrite.All"]


def test_role_descriptions_give_grants_their_permissions() -> None:
    assert detect(
        read_parsed(str(ESCALATION / "gcp/custom-role/exploitable/role-cloudRunDeployer.json"))
    ) == (
        "gcp",
        "gcp-roles",
    )
    inventory = load("gcp", "custom-role", "exploitable")
    ci = next(i for i in inventory.identities if i.name == "CI runner")
    (grant,) = ci.grants
    assert grant.role == "projects/acme-lab/roles/cloudRunDeployer"
    assert "iam.serviceAccounts.actAs" in grant.actions and "run.services.create" in grant.actions
