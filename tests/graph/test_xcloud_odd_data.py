"""Edge builders never raise on odd data (inventories read back from JSON, hand-made or partial
exports): what they cannot read, they skip."""

from __future__ import annotations

from typing import Any

import pytest

from nhiscan.analyze.graph import edges_azure, edges_gcp, edges_kubernetes
from nhiscan.model import Grant, Identity, Inventory, Trust
from tests.graph.xcloud_fixtures import AS_OF

ODD: list[Any] = [None, "text", 7, [None, 1, "x", {}], {"a": None}, [{"id": None, "issuer": 3}]]


def _odd_identities(value: Any) -> tuple[Identity, ...]:
    attrs = {
        "namespace": value,
        "cluster": value,
        "aws_role_arn": value,
        "gcp_service_account": value,
        "azure_client_id": value,
        "owners": value,
        "graph_app_roles": value,
        "directory_roles": value,
        "federated_credentials": value,
        "federated_principals": value,
        "ancestors": value,
        "managed_identity_resource": value,
        "unique_id": value,
        "app_id": value,
    }
    odd_grants = (
        Grant(actions=("*",), resources=("*",), scope="", role=None, condition={"resourceNames": None}),
        Grant(role="roles/owner", scope="projects/", condition={"title": None}),
        Grant(role="Owner", scope="", condition={"expression": None}),
        Grant(
            role="roles/iam.serviceAccountTokenCreator",
            scope="//iam.googleapis.com/projects/p/serviceAccounts/",
        ),
    )
    trusts = (
        Trust(
            "Federated",
            "arn:aws:iam::1:oidc-provider/x",
            ("sts:AssumeRoleWithWebIdentity",),
            "Allow",
            {"StringEquals": "x"},
        ),
        Trust("Federated", "oidc-provider/", ("*",), "Allow", {"Bool": {"x:sub": True}}),
    )
    out = []
    for provider, kind in (
        ("kubernetes", "kubernetes-service-account"),
        ("gcp", "gcp-service-account"),
        ("azure", "azure-service-principal"),
        ("azure", "azure-managed-identity"),
        ("aws", "aws-iam-role"),
    ):
        out.append(
            Identity(
                id=f"{provider}-{kind}@odd",
                provider=provider,
                kind=kind,
                name="odd",
                scope="",
                grants=odd_grants,
                trusts=trusts,
                attributes=attrs,
            )
        )
    return tuple(out)


@pytest.mark.parametrize("value", ODD, ids=[type(v).__name__ + str(i) for i, v in enumerate(ODD)])
@pytest.mark.parametrize(
    "builder", [edges_kubernetes, edges_gcp, edges_azure], ids=lambda m: m.__name__.rsplit("_", 1)[1]
)
def test_odd_attributes_and_grants_never_raise(builder: Any, value: Any) -> None:
    found = list(builder.edges(Inventory(identities=_odd_identities(value)), AS_OF))
    for e in found:
        assert isinstance(e.source, str) and isinstance(e.target, str) and e.kind


def test_an_empty_inventory_gives_no_edge() -> None:
    for builder in (edges_kubernetes, edges_gcp, edges_azure):
        assert list(builder.edges(Inventory(), AS_OF)) == []
