"""Kubernetes escalation edges on kubectl exports: each technique's exploitable case gives exactly
its edges, its look-alike none."""

from __future__ import annotations

import time

import pytest

from nhiscan.analyze.graph import edges_kubernetes
from nhiscan.analyze.graph.edge import Edge
from nhiscan.analyze.graph.xcloud import TARGET_CAP
from nhiscan.model import Grant, Identity, Inventory, Trust
from tests.graph.xcloud_fixtures import AS_OF, load, named, run

EXPLOITABLE = {
    "create-workload": {("apps/deployer", "apps/payments-admin", "k8s-create-workload")},
    "sa-token": {("apps/token-broker", "apps/payments-admin", "k8s-sa-token")},
    "impersonate": {
        ("ops/support-bot", "apps/payments-admin", "k8s-impersonate"),
        ("ops/support-bot", "kube-system/backup-operator", "k8s-impersonate"),
    },
    "rbac-bind-escalate": {
        ("platform/rbac-manager", "platform/rbac-manager", "k8s-rbac-self-grant"),
        ("tenant-a/tenant-operator", "tenant-a/tenant-app", "k8s-rbac-escalate"),
    },
    "read-token-secret": {("ci/secret-reader", "ci/release-bot", "k8s-read-token-secret")},
    "irsa": {
        ("payments/payments-api", "payments-api-irsa", "k8s-irsa"),
        ("batch/nightly-export", "batch-jobs-irsa", "k8s-irsa"),
    },
    "gke-workload-identity": {
        ("payments/payments-api", "payments-runtime", "k8s-gke-workload-identity"),
        ("analytics/exporter", "bq-exporter", "k8s-gke-workload-identity"),
    },
    "azure-workload-identity": {
        ("payments/payments-api", "payments-api-wi", "k8s-azure-workload-identity"),
    },
}


@pytest.mark.parametrize("technique", sorted(EXPLOITABLE))
def test_exploitable_case_gives_exactly_its_edges(technique: str) -> None:
    inventory = load("kubernetes", technique, "exploitable")
    edges = run(edges_kubernetes.edges, inventory)
    assert named(inventory, iter(edges)) == EXPLOITABLE[technique]
    assert len(edges) == len(EXPLOITABLE[technique])  # no duplicates
    for e in edges:
        assert e.via and not e.conditional
        assert e.source != e.target or e.kind.endswith("-self-grant")


@pytest.mark.parametrize("technique", sorted(EXPLOITABLE))
def test_lookalike_gives_no_edge(technique: str) -> None:
    inventory = load("kubernetes", technique, "lookalike")
    assert run(edges_kubernetes.edges, inventory) == []


def test_edges_name_the_export_and_the_permission() -> None:
    inventory = load("kubernetes", "read-token-secret", "exploitable")
    (edge,) = run(edges_kubernetes.edges, inventory)
    assert edge == Edge(
        "k8s:lab:ci/secret-reader",
        "k8s:lab:ci/release-bot",
        "k8s-read-token-secret",
        "read secrets in namespace ci (Role/ci/secret-reader via RoleBinding/ci/secret-reader): "
        "ci/release-bot-token-x7k2p",
        edge.path,
    )
    assert edge.path is not None and edge.path.endswith("rbac-and-serviceaccounts.json")


def test_irsa_edge_says_which_trust_admits_the_account() -> None:
    inventory = load("kubernetes", "irsa", "exploitable")
    vias = {e.target.rsplit("/", 1)[-1]: e.via for e in run(edges_kubernetes.edges, inventory)}
    assert "StringEquals sub system:serviceaccount:payments:payments-api" in vias["payments-api-irsa"]
    assert "StringLike sub system:serviceaccount:batch:*" in vias["batch-jobs-irsa"]


def _sa(ns: str, name: str, *grants: Grant, cluster: str = "lab") -> Identity:
    return Identity(
        id=f"k8s:{cluster}:{ns}/{name}",
        provider="kubernetes",
        kind="kubernetes-service-account",
        name=name,
        scope=cluster,
        grants=grants,
        attributes={"namespace": ns, "cluster": cluster},
    )


def _rule(
    scope: str, verbs: tuple[str, ...], resources: tuple[str, ...], names: list[str] | None = None
) -> Grant:
    return Grant(
        actions=verbs,
        resources=resources,
        scope=scope,
        role="ClusterRole/x",
        via="RoleBinding/x",
        condition={"resourceNames": names} if names else None,
    )


RBAC = "rbac.authorization.k8s.io"


def test_cluster_wide_bind_with_binding_writes_in_one_namespace_reaches_that_namespace() -> None:
    holder = _sa(
        "ops",
        "binder",
        _rule("cluster", ("bind",), (f"{RBAC}/clusterroles",)),
        _rule("team-a", ("create",), (f"{RBAC}/rolebindings",)),
    )
    inventory = Inventory(identities=(holder, _sa("team-a", "app"), _sa("team-b", "app")))
    found = {(e.target, e.kind) for e in edges_kubernetes.edges(inventory, AS_OF)}
    assert found == {("k8s:lab:team-a/app", "k8s-rbac-escalate")}


def test_namespace_escalate_needs_role_writes_in_that_namespace() -> None:
    holder = _sa(
        "team-a",
        "op",
        _rule("team-a", ("escalate",), (f"{RBAC}/roles",)),
        _rule("team-b", ("update",), (f"{RBAC}/roles",)),
    )
    inventory = Inventory(identities=(holder, _sa("team-a", "app"), _sa("team-b", "app")))
    assert list(edges_kubernetes.edges(inventory, AS_OF)) == []


def test_impersonating_any_user_is_a_self_grant_but_only_cluster_wide() -> None:
    anyone = _sa("ops", "anyone", Grant(actions=("impersonate",), resources=("users",), scope="cluster"))
    local = _sa("ops", "local", Grant(actions=("impersonate",), resources=("users", "groups"), scope="ops"))
    found = [
        (e.source, e.target, e.kind)
        for e in edges_kubernetes.edges(Inventory(identities=(anyone, local)), AS_OF)
    ]
    assert found == [(anyone.id, anyone.id, "k8s-impersonate-self-grant")]


def test_wildcards_cover_workloads_and_other_clusters_are_apart() -> None:
    star = _sa("ci", "star", Grant(actions=("*",), resources=("*/*",), scope="ci"))
    other_cluster = _sa("ci", "app", cluster="other")
    inventory = Inventory(identities=(star, _sa("ci", "app"), other_cluster))
    found = {(e.target, e.kind) for e in edges_kubernetes.edges(inventory, AS_OF)}
    # every technique of a wildcard rule, each once, and nothing in the other cluster
    assert found == {
        ("k8s:lab:ci/app", "k8s-create-workload"),
        ("k8s:lab:ci/app", "k8s-sa-token"),
        ("k8s:lab:ci/app", "k8s-impersonate"),
        ("k8s:lab:ci/app", "k8s-rbac-escalate"),  # namespace-wide bind/escalate with role writes
    }


def test_cluster_wide_pod_creators_over_many_accounts_stay_capped() -> None:
    accounts = [_sa(f"ns{i % 200:03d}", f"sa{i:05d}") for i in range(20_000)]
    creators = [_sa("ops", f"creator{i}", _rule("cluster", ("create",), ("pods",))) for i in range(50)]
    inventory = Inventory(identities=(*accounts, *creators))
    started = time.perf_counter()
    found = list(edges_kubernetes.edges(inventory, AS_OF))
    elapsed = time.perf_counter() - started
    per_source: dict[str, int] = {}
    for e in found:
        per_source[e.source] = per_source.get(e.source, 0) + 1
    assert set(per_source.values()) == {TARGET_CAP}
    assert len(per_source) == 50
    assert elapsed < 30  # linear: 1M candidate edges would take far longer on this machine


def _irsa_inventory(*statements: Trust) -> Inventory:
    account = Identity(
        id="k8s:lab:payments/api",
        provider="kubernetes",
        kind="kubernetes-service-account",
        name="api",
        scope="lab",
        attributes={"namespace": "payments", "cluster": "lab", "aws_role_arn": "arn:aws:iam::1:role/r"},
    )
    role = Identity(
        id="arn:aws:iam::1:role/r",
        provider="aws",
        kind="aws-iam-role",
        name="r",
        scope="1",
        trusts=statements,
    )
    return Inventory(identities=(account, role))


OIDC_ARN = "arn:aws:iam::1:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/ABC"
SUB = "oidc.eks.eu-west-1.amazonaws.com/id/ABC:sub"
WEB = ("sts:AssumeRoleWithWebIdentity",)


def test_irsa_trust_conditions_it_cannot_decide_make_a_conditional_edge() -> None:
    trust = Trust(
        "Federated",
        OIDC_ARN,
        WEB,
        "Allow",
        {
            "StringEquals": {SUB: "system:serviceaccount:payments:api"},
            "IpAddress": {"aws:SourceIp": "10.0.0.0/8"},
        },
    )
    (edge,) = edges_kubernetes.edges(_irsa_inventory(trust), AS_OF)
    assert edge.kind == "k8s-irsa" and edge.conditional and "aws:SourceIp" in edge.condition
    set_op = Trust(
        "Federated", OIDC_ARN, WEB, "Allow", {"ForAnyValue:StringLike": {SUB: "system:serviceaccount:*"}}
    )
    (edge,) = edges_kubernetes.edges(_irsa_inventory(set_op), AS_OF)
    assert edge.conditional and "ForAnyValue:StringLike" in edge.condition


def test_irsa_deny_statement_for_the_account_blocks_the_edge() -> None:
    allow = Trust(
        "Federated", OIDC_ARN, WEB, "Allow", {"StringLike": {SUB: "system:serviceaccount:payments:*"}}
    )
    deny = Trust(
        "Federated", OIDC_ARN, WEB, "Deny", {"StringEquals": {SUB: "system:serviceaccount:payments:api"}}
    )
    assert list(edges_kubernetes.edges(_irsa_inventory(allow, deny), AS_OF)) == []
    (edge,) = edges_kubernetes.edges(_irsa_inventory(allow), AS_OF)
    assert not edge.conditional
