"""GCP escalation edges on gcloud and Cloud Asset Inventory exports: each technique's exploitable
case gives exactly its edges, its look-alike none."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nhiscan.analyze.graph import edges_gcp
from nhiscan.analyze.graph.xcloud import TARGET_CAP
from nhiscan.config import InputSpec, ScanConfig
from nhiscan.core import collect_inventory
from nhiscan.model import Grant, Identity, Inventory
from tests.graph.xcloud_fixtures import AS_OF, ESCALATION, load, named, run

POOL_MEMBER = "principalSet://iam.googleapis.com/projects/{}/locations/global/workloadIdentityPools/github/attribute.repository/acme-lab/infra"

EXPLOITABLE = {
    "token-creator": {
        ("ci-runner", "deployer", "gcp-token-creator"),
        ("ci-runner", "etl", "gcp-token-creator"),
    },
    "act-as": {("ci-runner", "deployer", "gcp-act-as"), ("ci-runner", "etl", "gcp-act-as")},
    "key-create": {
        ("ci-runner", "deployer", "gcp-key-create"),
        ("ci-runner", "etl", "gcp-key-create"),
        ("etl", "deployer", "gcp-key-create"),
    },
    "set-iam-policy": {
        ("ci-runner", "deployer", "gcp-set-iam-policy"),
        ("ci-runner", "etl", "gcp-set-iam-policy"),
    },
    "owner-editor": {
        ("ci-runner", "deployer", "gcp-owner"),
        ("ci-runner", "etl", "gcp-owner"),
        ("etl", "ci-runner", "gcp-editor"),
        ("etl", "deployer", "gcp-editor"),
    },
    "custom-role": {("ci-runner", "deployer", "gcp-act-as"), ("ci-runner", "etl", "gcp-act-as")},
    "folder-binding": {
        ("ci-runner", "deployer", "gcp-token-creator"),
        ("ci-runner", "etl", "gcp-token-creator"),
    },
}


@pytest.mark.parametrize("technique", sorted(EXPLOITABLE))
def test_exploitable_case_gives_exactly_its_edges(technique: str) -> None:
    inventory = load("gcp", technique, "exploitable")
    edges = run(edges_gcp.edges, inventory)
    assert named(inventory, iter(edges)) == EXPLOITABLE[technique]
    assert len(edges) == len(EXPLOITABLE[technique])


@pytest.mark.parametrize("technique", [*sorted(EXPLOITABLE), "workload-identity-federation"])
def test_lookalike_gives_no_edge(technique: str) -> None:
    inventory = load("gcp", technique, "lookalike")
    assert run(edges_gcp.edges, inventory) == []


def test_binding_condition_makes_a_conditional_edge() -> None:
    inventory = load("gcp", "token-creator", "exploitable")
    by_target = {e.target.split("@")[0]: e for e in run(edges_gcp.edges, inventory)}
    assert not by_target["deployer"].conditional
    assert by_target["etl"].conditional
    assert by_target["etl"].condition == "IAM condition until-2027"
    assert by_target["deployer"].via.startswith("iam.serviceAccounts.getAccessToken")


def test_workload_identity_pool_member_reaches_the_account_it_is_bound_on() -> None:
    inventory = load("gcp", "workload-identity-federation", "exploitable")
    (edge,) = run(edges_gcp.edges, inventory)
    deployer = next(i for i in inventory.identities if i.name == "Deployer")
    (bound,) = deployer.attributes["federated_principals"]
    number = bound["member"].split("/")[4]
    assert bound["role"] == "roles/iam.workloadIdentityUser"
    assert edge.source == "federated:" + POOL_MEMBER.format(number)
    assert edge.target == deployer.id == "deployer@acme-lab.iam.gserviceaccount.com"
    assert edge.kind == "gcp-workload-identity-federation"


def test_project_policy_edges_name_their_export() -> None:
    inventory = load("gcp", "act-as", "exploitable")
    paths = {e.path for e in run(edges_gcp.edges, inventory)}
    assert len(paths) == 1 and str(paths.pop()).endswith("project-iam-policy.json")


def test_folder_binding_without_known_ancestry_is_conditional() -> None:
    sa = Identity(
        id="app@p-one.iam.gserviceaccount.com",
        provider="gcp",
        kind="gcp-service-account",
        name="app",
        scope="p-one",
    )
    holder = Identity(
        id="ops@p-two.iam.gserviceaccount.com",
        provider="gcp",
        kind="gcp-service-account",
        name="ops",
        scope="p-two",
        grants=(Grant(role="roles/iam.serviceAccountTokenCreator", scope="folders/123", via="asset-search"),),
    )
    (edge,) = edges_gcp.edges(Inventory(identities=(sa, holder)), AS_OF)
    assert (edge.source, edge.target, edge.conditional) == (holder.id, sa.id, True)
    assert "folders/123" in edge.condition


def test_custom_role_permissions_are_read_one_by_one() -> None:
    sa = Identity(
        id="app@p-one.iam.gserviceaccount.com",
        provider="gcp",
        kind="gcp-service-account",
        name="app",
        scope="p-one",
    )
    holder = Identity(
        id="ops@p-one.iam.gserviceaccount.com",
        provider="gcp",
        kind="gcp-service-account",
        name="ops",
        scope="p-one",
        grants=(
            Grant(
                role="projects/p-one/roles/deployer",
                actions=("iam.serviceAccounts.actAs", "run.services.create"),
                scope="projects/p-one",
            ),
            Grant(
                role="projects/p-one/roles/reader",
                actions=("iam.serviceAccounts.get",),
                scope="projects/p-one",
            ),
        ),
    )
    found = {(e.source, e.target, e.kind) for e in edges_gcp.edges(Inventory(identities=(sa, holder)), AS_OF)}
    assert found == {(holder.id, sa.id, "gcp-act-as")}


def test_a_project_binding_over_many_accounts_is_capped_per_source() -> None:
    accounts = tuple(
        Identity(
            id=f"sa{i:04d}@big.iam.gserviceaccount.com",
            provider="gcp",
            kind="gcp-service-account",
            name=f"sa{i}",
            scope="big",
        )
        for i in range(TARGET_CAP + 50)
    )
    admin = Identity(
        id="zz-admin@big.iam.gserviceaccount.com",
        provider="gcp",
        kind="gcp-service-account",
        name="admin",
        scope="big",
        grants=(Grant(role="roles/owner", scope="organizations/1"),),
    )
    holder = Identity(
        id="ops@big.iam.gserviceaccount.com",
        provider="gcp",
        kind="gcp-service-account",
        name="ops",
        scope="big",
        grants=(Grant(role="roles/iam.serviceAccountUser", scope="projects/big"),),
    )
    edges = [
        e
        for e in edges_gcp.edges(Inventory(identities=(*accounts, admin, holder)), AS_OF)
        if e.source == holder.id
    ]
    assert len(edges) == TARGET_CAP
    # the most privileged target is kept; the others tie (no grants) and go by id
    expected = {admin.id} | {a.id for a in accounts[: TARGET_CAP - 1]}
    assert {e.target for e in edges} == expected


def test_a_pool_member_bound_on_a_project_is_capped_like_any_source() -> None:
    member = "principalSet://iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/ci/*"
    bound = [{"member": member, "role": "roles/iam.workloadIdentityUser", "resource": "projects/big"}]
    accounts = tuple(
        Identity(
            id=f"sa{i:04d}@big.iam.gserviceaccount.com",
            provider="gcp",
            kind="gcp-service-account",
            name=f"sa{i}",
            scope="big",
            attributes={"federated_principals": bound},
        )
        for i in range(TARGET_CAP + 30)
    )
    edges = list(edges_gcp.edges(Inventory(identities=accounts), AS_OF))
    assert len(edges) == TARGET_CAP
    assert {e.source for e in edges} == {f"federated:{member}"}
    assert {e.kind for e in edges} == {"gcp-workload-identity-federation"}


def test_asset_results_naming_projects_by_number_still_cover_their_accounts(tmp_path: Path) -> None:
    case = ESCALATION / "gcp" / "folder-binding" / "exploitable"
    results = json.loads((case / "asset-iam-policies.json").read_text())
    project = next(r for r in results if r["assetType"].endswith("/Project"))
    number = project["project"].removeprefix("projects/")
    ci = next(m for r in results for b in r["policy"]["bindings"] for m in b["members"] if "ci-runner" in m)
    by_number = {**project, "resource": f"//cloudresourcemanager.googleapis.com/projects/{number}"}
    by_number["policy"] = {"bindings": [{"members": [ci], "role": "roles/iam.serviceAccountUser"}]}
    # one result pairs the id with the number (a service account's, named by project id)
    deployer_result = {
        "assetType": "iam.googleapis.com/ServiceAccount",
        "resource": "//iam.googleapis.com/projects/acme-lab/serviceAccounts/1",
        "project": f"projects/{number}",
        "folders": project["folders"],
        "organization": project["organization"],
        "policy": {"bindings": []},
    }
    (tmp_path / "assets.json").write_text(json.dumps([by_number, deployer_result]))
    config = ScanConfig(
        as_of=AS_OF,
        inputs=(InputSpec(str(case / "service-accounts.json")), InputSpec(str(tmp_path / "assets.json"))),
    )
    inventory, errors = collect_inventory(config)
    assert errors == []
    accounts = {i.name: i for i in inventory.identities}
    assert accounts["Deployer"].attributes["project_number"] == number
    assert accounts["Deployer"].attributes["ancestors"] == [*project["folders"], project["organization"]]
    assert named(inventory, edges_gcp.edges(inventory, AS_OF)) == {
        ("ci-runner", "deployer", "gcp-act-as"),
        ("ci-runner", "etl", "gcp-act-as"),
    }
