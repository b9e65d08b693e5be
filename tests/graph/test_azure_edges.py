"""Azure escalation edges on az / Microsoft Graph exports: each technique's exploitable case gives
exactly its edges, its look-alike none."""

from __future__ import annotations

import pytest

from nhiscan.analyze.graph import edges_azure
from nhiscan.model import Grant, Identity, Inventory
from tests.graph.xcloud_fixtures import AS_OF, load, named, run

GITHUB = "federated:https://token.actions.githubusercontent.com|repo:contoso-lab/infra:ref:refs/heads/main"

EXPLOITABLE = {
    "app-owner": {("automation-runner", "payroll-sync", "azure-app-owner")},
    "graph-app-roles": {
        ("app-provisioner", "payroll-sync", "azure-graph-application-write"),
        ("app-provisioner", "role-bootstrap", "azure-graph-application-write"),
        ("role-bootstrap", "role-bootstrap", "azure-graph-role-management-self-grant"),
    },
    "directory-roles": {
        ("app-admin-automation", "payroll-sync", "azure-directory-app-admin"),
        ("app-admin-automation", "tenant-bootstrap", "azure-directory-app-admin"),
        ("tenant-bootstrap", "tenant-bootstrap", "azure-directory-role-self-grant"),
    },
    "role-assignment-write": {
        ("subscription-bootstrap", "subscription-bootstrap", "azure-role-assignment-self-grant"),
        ("subscription-bootstrap", "mi-app-data", "azure-managed-identity-in-scope"),
        ("subscription-bootstrap", "mi-other", "azure-managed-identity-in-scope"),
        ("rg-access-admin", "mi-app-data", "azure-managed-identity-in-scope"),
    },
    "federated-credential": {(GITHUB, "github-deployer", "azure-federated-credential")},
}


@pytest.mark.parametrize("technique", sorted(EXPLOITABLE))
def test_exploitable_case_gives_exactly_its_edges(technique: str) -> None:
    inventory = load("azure", technique, "exploitable")
    edges = run(edges_azure.edges, inventory)
    assert named(inventory, iter(edges)) == EXPLOITABLE[technique]
    assert len(edges) == len(EXPLOITABLE[technique])
    assert all(e.via and not e.conditional for e in edges)


@pytest.mark.parametrize("technique", sorted(EXPLOITABLE))
def test_lookalike_gives_no_edge(technique: str) -> None:
    inventory = load("azure", technique, "lookalike")
    assert run(edges_azure.edges, inventory) == []


def test_graph_permission_edges_name_their_export() -> None:
    inventory = load("azure", "directory-roles", "exploitable")
    paths = {e.path for e in run(edges_azure.edges, inventory)}
    assert len(paths) == 1 and str(paths.pop()).endswith("directory-role-assignments.json")


def test_conditioned_role_assignment_makes_conditional_edges() -> None:
    expression = "@Resource[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals {acdd72a7-3385-48ef-bd42-f606fba81ae7}"
    delegate = Identity(
        id="0c5e2f4a-7b1d-4e8f-9a3c-6d2b8e1f4a70",
        provider="azure",
        kind="azure-service-principal",
        name="delegate",
        scope="t",
        grants=(
            Grant(
                role="User Access Administrator",
                scope="/subscriptions/s1",
                condition={"expression": expression},
            ),
        ),
    )
    (edge,) = edges_azure.edges(Inventory(identities=(delegate,)), AS_OF)
    assert edge.kind == "azure-role-assignment-self-grant" and edge.source == edge.target
    assert edge.conditional and expression in edge.condition
