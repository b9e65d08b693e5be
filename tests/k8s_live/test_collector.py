"""The collector in-process against the HTTPS peer: retries, timeouts, in-cluster config, what is kept."""

from __future__ import annotations

from pathlib import Path

from nhiscan.sources.kubernetes.live import (
    RESOURCES,
    ContextCollector,
    clean_item,
    collect_context,
    make_api_client,
)
from tests.k8s_live.conftest import K8S_EXPORT, assert_no_secret
from tests.k8s_live.peer import TOKEN, FakeK8s

SECRETS = next(r for r in RESOURCES if r.name == "secrets")


def collector(peer: FakeK8s, kubeconfig: Path, **options: object) -> tuple[ContextCollector, list[float]]:
    slept: list[float] = []
    api = make_api_client("prod", {"KUBECONFIG": str(kubeconfig)})
    return ContextCollector(api, "prod", sleep=slept.append, **options), slept  # type: ignore[arg-type]


def test_items_carry_kind_and_api_version_and_no_secret_data(peer: FakeK8s, kubeconfig: Path) -> None:
    peer.seed_export(K8S_EXPORT)
    result = collect_context("prod", {"KUBECONFIG": str(kubeconfig)}, page_limit=2)
    assert not result.errors
    (doc,) = result.docs
    assert (doc.kind, doc.provider, doc.scope, doc.path) == (
        "kubernetes-objects",
        "kubernetes",
        "prod",
        "kubernetes:prod",
    )
    items = doc.data["items"]
    assert doc.data["kind"] == "List"
    assert all(i["kind"] and i["apiVersion"] for i in items)
    secrets = [i for i in items if i["kind"] == "Secret"]
    assert sorted(s["metadata"]["name"] for s in secrets) == ["ci-deployer-token", "jenkins-agent-token"]
    assert all(set(s) == {"apiVersion", "kind", "metadata", "type"} for s in secrets)
    assert_no_secret(repr(doc.data))
    # 27 objects but 2 token Secrets (the Opaque one never left the server), two per page
    assert result.requests == sum(peer.count().values()) == 15


def test_clean_item_drops_what_could_hold_a_secret() -> None:
    item = {
        "metadata": {
            "name": "t",
            "namespace": "ci",
            "annotations": {
                "kubernetes.io/service-account.name": "ci",
                "kubectl.kubernetes.io/last-applied-configuration": '{"data":{"token":"c2VjcmV0"}}',
            },
            "managedFields": [{"manager": "kubectl", "fieldsV1": {"f:data": {"f:token": {}}}}],
        },
        "type": "kubernetes.io/service-account-token",
        "data": {"token": "c2VjcmV0"},
        "stringData": {"token": "secret"},
        "immutable": True,
    }
    cleaned = clean_item(item, SECRETS)
    assert cleaned == {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": "t",
            "namespace": "ci",
            "annotations": {"kubernetes.io/service-account.name": "ci"},
        },
        "type": "kubernetes.io/service-account-token",
    }


def test_429_and_503_are_retried_with_backoff(peer: FakeK8s, kubeconfig: Path) -> None:
    peer.seed_export(K8S_EXPORT)
    peer.faults["secrets"] = [429, 503]
    peer.retry_after = "2"
    coll, slept = collector(peer, kubeconfig)
    result = coll.run()
    assert not result.errors
    assert peer.count()["secrets"] == 3
    assert slept == [2.0, 2.0]  # Retry-After wins over the 0.5 s / 1 s backoff
    assert len([i for i in result.docs[0].data["items"] if i["kind"] == "Secret"]) == 2


def test_persistent_5xx_gives_up_and_keeps_what_was_collected(peer: FakeK8s, kubeconfig: Path) -> None:
    peer.seed_export(K8S_EXPORT)
    peer.faults["roles"] = [500] * 10
    coll, slept = collector(peer, kubeconfig, attempts=3)
    result = coll.run()
    assert slept == [0.5, 1.0]
    assert [e.message for e in result.errors] == [
        f"API server {peer.server} error 500 listing roles: try again, gave up after 3 attempts; "
        "not collected: roles, clusterroles, rolebindings, clusterrolebindings"
    ]
    kinds = {i["kind"] for i in result.docs[0].data["items"]}
    assert kinds == {"ServiceAccount", "Secret"}


def test_timeouts_are_retried_then_reported(peer: FakeK8s, kubeconfig: Path) -> None:
    peer.seed_export(K8S_EXPORT)
    peer.delays["serviceaccounts"] = 1.0
    coll, slept = collector(peer, kubeconfig, timeout=0.2, attempts=2)
    result = coll.run()
    assert len(slept) == 1
    assert [e.message for e in result.errors] == [
        f"API server {peer.server} did not answer within 0.2 s (listing serviceaccounts), gave up after 2 attempts"
    ]
    assert not result.docs
    assert peer.count() == {"serviceaccounts": 2}


def test_everything_denied_is_one_line(peer: FakeK8s, kubeconfig: Path) -> None:
    peer.denied.update(r.name for r in RESOURCES)
    result = collect_context("prod", {"KUBECONFIG": str(kubeconfig)})
    assert [e.message for e in result.errors] == [
        "permission denied listing serviceaccounts, secrets, roles, clusterroles, rolebindings, "
        "clusterrolebindings (403); nothing was collected (grant get/list on serviceaccounts, secrets, roles, "
        "clusterroles, rolebindings, clusterrolebindings cluster-wide: see docs/kubernetes-live.md)"
    ]
    assert not result.docs


def test_in_cluster_uses_the_pod_service_account(peer: FakeK8s, tmp_path: Path) -> None:
    peer.seed_export(K8S_EXPORT)
    sa = tmp_path / "serviceaccount"
    sa.mkdir()
    (sa / "token").write_text(TOKEN)
    (sa / "ca.crt").write_bytes(peer.ca_pem)
    env = {
        "KUBECONFIG": str(tmp_path / "absent"),
        "KUBERNETES_SERVICE_HOST": "127.0.0.1",
        "KUBERNETES_SERVICE_PORT": str(peer.port),
    }
    api = make_api_client("in-cluster", env, incluster_dir=sa)
    try:
        result = ContextCollector(api, "in-cluster").run()
    finally:
        api.close()
    assert not result.errors
    assert len([i for i in result.docs[0].data["items"] if i["kind"] == "ServiceAccount"]) == 13
    # outside a pod: one clear sentence
    failed = collect_context("in-cluster", {"KUBECONFIG": str(tmp_path / "absent")})
    assert failed.errors[0].message.startswith("not running inside a Kubernetes pod with a service account")
