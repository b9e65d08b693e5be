"""Kubernetes escalation edges on kubectl exports: each technique's exploitable case gives exactly
its edges, its look-alike none."""

from __future__ import annotations

import pytest

from nhiscan.analyze.graph import edges_kubernetes
from nhiscan.analyze.graph.edge import Edge
from tests.graph.xcloud_fixtures import load, named, run

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
