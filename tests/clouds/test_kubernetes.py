from __future__ import annotations

import json
from pathlib import Path

import yaml

from nhiscan.analyze.privilege import assess
from nhiscan.sources.documents import Parsed
from nhiscan.sources.exports import read_parsed
from nhiscan.sources.kubernetes import exports
from tests.clouds.conftest import K8S_DIR, by_id, inventory, k8s_inputs, scan

LIST = K8S_DIR / "rbac-and-serviceaccounts.json"


def test_detects_list_typed_list_single_object_and_yaml(tmp_path: Path) -> None:
    assert exports.detect(read_parsed(str(LIST))) == "kubernetes-objects"
    data = json.loads(LIST.read_text())
    sas = [i for i in data["items"] if i["kind"] == "ServiceAccount"]
    typed = {"apiVersion": "v1", "kind": "ServiceAccountList", "items": sas, "metadata": {}}
    assert exports.detect(Parsed("x", json.dumps(typed), typed)) == "kubernetes-objects"
    assert exports.detect(Parsed("x", "", sas[0])) == "kubernetes-objects"
    y = tmp_path / "export.yaml"
    y.write_text(yaml.safe_dump(data))
    assert exports.detect(read_parsed(str(y))) == "kubernetes-objects"
    pod_list = {"apiVersion": "v1", "kind": "List", "items": [{"kind": "Pod", "metadata": {"name": "p"}}]}
    assert exports.detect(Parsed("x", "", pod_list)) is None


def test_identities_grants_tokens_and_federation() -> None:
    ids = by_id(inventory(k8s_inputs()))
    ci = ids["k8s:gke-prod:kube-system/ci-deployer"]
    assert ci.kind == "kubernetes-service-account" and ci.scope == "gke-prod"
    assert [c.id for c in ci.credentials] == ["kube-system/ci-deployer-token"]
    assert ci.credentials[0].expires is None
    assert ci.grants[0].role == "ClusterRole/cluster-admin" and ci.grants[0].scope == "cluster"
    jenkins = ids["k8s:gke-prod:ci/jenkins-agent"]
    assert {"pods/exec", "secrets"} <= {r for g in jenkins.grants for r in g.resources}
    # Bound through the group system:serviceaccounts:batch.
    assert ids["k8s:gke-prod:batch/report-cron"].grants[0].role == "ClusterRole/view"
    gsa = [
        i.id
        for i in ids.values()
        if i.attributes.get("gcp_service_account") == "data-pipeline@acme-prod.iam.gserviceaccount.com"
    ]
    assert len(gsa) == 3
    aws = [
        i.id
        for i in ids.values()
        if i.attributes.get("aws_role_arn") == "arn:aws:iam::111122223333:role/prod-s3-writer"
    ]
    assert len(aws) == 2
    assert ids["k8s:gke-prod:ingest/blob-uploader"].attributes["azure_client_id"].startswith("4b7e")
    cfg = [g for g in ids["k8s:gke-prod:payments/payments-api"].grants if g.condition]
    assert cfg and cfg[0].condition == {"resourceNames": ["payments-db-credentials"]}


def test_scope_defaults_to_default() -> None:
    ids = by_id(inventory([str(LIST)]))
    assert "k8s:default:kube-system/ci-deployer" in ids


def test_token_values_never_kept() -> None:
    data = json.loads(LIST.read_text())
    tokens = [
        i["data"]["token"] for i in data["items"] if i.get("type") == "kubernetes.io/service-account-token"
    ]
    opaque = [v for i in data["items"] if i.get("type") == "Opaque" for v in i["data"].values()]
    inv = inventory(k8s_inputs())
    dumped = repr(inv)
    assert tokens and not any(t[:24] in dumped for t in tokens + opaque)


def test_privilege_levels() -> None:
    ids = by_id(inventory(k8s_inputs()))
    assert assess(ids["k8s:gke-prod:kube-system/ci-deployer"], {}).level == "admin"
    assert assess(ids["k8s:gke-prod:argocd/argocd-application-controller"], {}).level == "admin"
    jenkins = assess(ids["k8s:gke-prod:ci/jenkins-agent"], {})
    assert jenkins.level == "escalation" and "exec into pods" in jenkins.reasons[0] + " ".join(
        jenkins.reasons
    )
    assert assess(ids["k8s:gke-prod:monitoring/prometheus"], {}).level == "read"
    # Reading one named secret is not "read secrets" of the namespace.
    assert assess(ids["k8s:gke-prod:payments/payments-api"], {}).level == "read"
    assert assess(ids["k8s:gke-prod:default/default"], {}).level == "escalation"


def test_rules_on_the_realistic_cluster() -> None:
    report = scan(k8s_inputs())
    assert not report.errors
    got = {(f.rule_id, f.identity_id, f.severity.value) for f in report.findings}
    assert ("k8s-sa-cluster-admin", "k8s:gke-prod:kube-system/ci-deployer", "high") in got
    assert ("k8s-sa-cluster-admin", "k8s:gke-prod:argocd/argocd-application-controller", "high") in got
    assert ("k8s-legacy-sa-token-secret", "k8s:gke-prod:kube-system/ci-deployer", "high") in got
    assert ("k8s-default-sa-with-permissions", "k8s:gke-prod:default/default", "high") in got
    assert not any(r == "k8s-default-sa-with-permissions" and "payments" in (i or "") for r, i, _ in got)


def test_default_accounts_are_platform_created_not_unowned() -> None:
    report = scan(k8s_inputs())
    unowned = {f.identity_id for f in report.findings if f.rule_id == "nhi-no-owner"}
    assert "k8s:gke-prod:payments/default" not in unowned
    assert "k8s:gke-prod:kube-system/ci-deployer" in unowned
