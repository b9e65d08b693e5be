"""docs/kubernetes-rbac.yaml grants every request nhiscan makes, and nothing but get/list."""

from __future__ import annotations

import yaml

from nhiscan.sources.kubernetes.live import RESOURCES
from tests.conftest import ROOT


def test_cluster_role_covers_every_list_call_read_only() -> None:
    docs = list(yaml.safe_load_all((ROOT / "docs" / "kubernetes-rbac.yaml").read_text()))
    (role,) = [d for d in docs if d["kind"] == "ClusterRole"]
    rules = role["rules"]
    assert {v for rule in rules for v in rule["verbs"]} == {"get", "list"}
    for resource in RESOURCES:
        group = "" if resource.api_version == "v1" else resource.api_version.split("/", 1)[0]
        assert any(
            group in rule["apiGroups"] and resource.name in rule["resources"] and "list" in rule["verbs"]
            for rule in rules
        ), resource.name
    (binding,) = [d for d in docs if d["kind"] == "ClusterRoleBinding"]
    assert binding["roleRef"]["name"] == role["metadata"]["name"]
    text = (ROOT / "docs" / "kubernetes-live.md").read_text()
    assert all(r.path in text for r in RESOURCES)
