"""The installed `nhiscan` command on the GCP, Azure and Kubernetes fixture exports."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from tests.clouds.conftest import AZURE_DIR, K8S_DIR, azure_inputs, gcp_inputs, k8s_inputs
from tests.conftest import AS_OF, run_cli


def _args(inputs: list[str]) -> list[str]:
    out: list[str] = []
    for value in inputs:
        out += ["--input", value]
    return out


def test_scan_all_three_clouds_json(tmp_path: Path) -> None:
    out = tmp_path / "result.json"
    res = run_cli(
        "scan",
        *_args(gcp_inputs() + azure_inputs() + k8s_inputs()),
        "--as-of",
        AS_OF,
        "--format",
        "json",
        "--output",
        str(out),
    )
    assert res.code == 1, res.stderr  # critical and high findings at the default threshold
    data = json.loads(out.read_text())
    assert data["errors"] == []
    providers = {i["provider"] for i in data["identities"]}
    assert providers == {"gcp", "azure", "kubernetes"}
    kinds = {s["kind"] for s in data["sources"]}
    assert {"gcp-iam-policy", "gcp-asset-iam-policies", "azure-sp-list", "kubernetes-objects"} <= kinds
    rules = {f["rule_id"] for f in data["findings"]}
    expected = {
        "gcp-sa-key-too-old",
        "gcp-user-managed-key-no-expiry",
        "gcp-sa-primitive-role",
        "gcp-sa-privilege-escalation",
        "gcp-default-compute-sa-editor",
        "azure-secret-long-lived",
        "azure-credential-expired-still-present",
        "azure-sp-privileged-role",
        "azure-third-party-app-privileged",
        "k8s-legacy-sa-token-secret",
        "k8s-sa-cluster-admin",
        "k8s-default-sa-with-permissions",
    }
    assert expected <= rules
    # The leak-matchable GCP key: key id + client e-mail are in the inventory.
    ci = next(i for i in data["identities"] if i["id"] == "ci-deployer@acme-prod.iam.gserviceaccount.com")
    key = next(c for c in ci["credentials"] if c["id"] == "b493afd584c7bf4a35bdd841d6a6349176b556ba")
    assert key["attributes"]["service_account"] == ci["id"] and key["expires"] is None
    terraform = next(i for i in data["identities"] if i["id"].startswith("terraform@"))
    assert terraform["risk_level"] in ("high", "critical") and "admin-equivalent" in terraform["risk_factors"]


def test_no_secret_material_reaches_any_output(tmp_path: Path) -> None:
    items = json.loads((K8S_DIR / "rbac-and-serviceaccounts.json").read_text())["items"]
    values = [v for i in items if i["kind"] == "Secret" for v in i["data"].values()]
    decoded = [base64.b64decode(v).decode() for v in values]
    res = run_cli("scan", *_args(k8s_inputs() + azure_inputs()), "--as-of", AS_OF, "--format", "json")
    inv = run_cli("inventory", *_args(k8s_inputs()))
    for text in (res.stdout, res.stderr, inv.stdout):
        for secret in values + decoded:
            if len(secret) >= 16:
                assert secret[:16] not in text
    # Azure exports never hold secret values; only the 3-character hint is kept.
    hints = [
        c["attributes"]["hint"]
        for i in res.json()["identities"]
        for c in i["credentials"]
        if c["kind"] == "azure-client-secret"
    ]
    assert hints and all(len(h) == 3 for h in hints)


def test_project_policy_needs_scope_and_exit_2() -> None:
    policy = str(Path(gcp_inputs()[-2].split("=", 1)[-1]))
    assert policy.endswith("project-iam-policy.json")
    res = run_cli("scan", "--input", policy, "--as-of", AS_OF)
    assert res.code == 2
    assert "Traceback" not in res.stderr
    assert policy in res.stderr and "PROJECT_ID=FILE" in res.stderr
    ok = run_cli("scan", "--input", f"acme-prod={policy}", "--as-of", AS_OF, "--format", "json")
    assert ok.code == 1, ok.stderr
    assert any(f["rule_id"] == "gcp-default-compute-sa-editor" for f in ok.json()["findings"])


def test_inventory_round_trip_on_cloud_exports(tmp_path: Path) -> None:
    inv = tmp_path / "inv.json"
    inputs = _args(gcp_inputs() + azure_inputs() + k8s_inputs())
    assert run_cli("inventory", *inputs, "--output", str(inv)).code == 0
    direct = run_cli("scan", *inputs, "--format", "json", "--as-of", AS_OF).json()
    again = run_cli("scan", "--input", str(inv), "--format", "json", "--as-of", AS_OF).json()
    assert direct["findings"] == again["findings"]


def test_fail_on_threshold_on_azure() -> None:
    res = run_cli("scan", *_args(azure_inputs()), "--as-of", AS_OF, "--fail-on", "critical")
    assert res.code == 1  # the third-party app with Contributor on the subscription is critical
    assert "azure-third-party-app-privileged" in res.stdout
    only_mg = run_cli(
        "scan",
        "--input",
        str(AZURE_DIR / "role-assignments-mg-arm.json"),
        "--as-of",
        AS_OF,
        "--fail-on",
        "critical",
    )
    assert only_mg.code == 0, only_mg.stderr
