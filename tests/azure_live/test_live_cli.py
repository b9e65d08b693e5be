"""`nhiscan scan/inventory --azure-subscription` end to end: the installed CLI against the HTTPS peer."""

from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path
from typing import Any

from nhiscan.sources.azure.live import APP_FIELDS, SP_FIELDS
from tests.azure_live.conftest import (
    AZURE_DIR,
    assert_read_only,
    finding_keys,
    nhiscan,
    scan_args,
    stderr_lines,
)
from tests.azure_live.peer import CONTOSO_SUBSCRIPTION, TEST_TOKEN, FakeAzure, arm_form
from tests.conftest import run_cli

LOCKED = "11111111-2222-4333-8444-555555555555"
SUB = ("--azure-subscription", CONTOSO_SUBSCRIPTION)


def federated_exports(directory: Path) -> list[str]:
    """`az ad app federated-credential list --id APP` for each contoso application: none has any
    (the peer answers the same through `$expand`), so each file is `[]`, named by its SCOPE."""
    args = []
    for app in json.loads((AZURE_DIR / "app-list.json").read_text()):
        path = directory / f"fic-{app['appId']}.json"
        path.write_text("[]")
        args += ["--input", f"applications/{app['appId']}={path}"]
    return args


def export_scan() -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        res = run_cli(*scan_args("--input", str(AZURE_DIR), *federated_exports(Path(tmp))))
    assert res.code == 0, res.stderr
    out: dict[str, object] = res.json()
    return out


def test_live_scan_equals_export_scan(peer: FakeAzure) -> None:
    peer.seed_export_dir(AZURE_DIR)
    live = nhiscan(peer, *scan_args(*SUB))
    assert live.code == 0, live.stderr
    assert live.stderr == ""
    got, exported = live.json(), export_scan()
    assert got["findings"], "the contoso fixtures should have findings"
    assert finding_keys(got) == finding_keys(exported)
    assert {(f["rule_id"], f["fingerprint"]) for f in got["findings"]} == {
        (f["rule_id"], f["fingerprint"])
        for f in exported["findings"]  # type: ignore[attr-defined]
    }
    assert {i["id"] for i in got["identities"]} == {i["id"] for i in exported["identities"]}  # type: ignore[attr-defined]
    assert {(s["kind"], s["path"]) for s in got["sources"]} == {
        ("azure-sp-list", "azure:graph"),
        ("azure-app-list", "azure:graph"),
        ("azure-role-assignments", f"azure:subscription/{CONTOSO_SUBSCRIPTION}"),
        ("azure-diagnostic-settings", f"azure:subscription/{CONTOSO_SUBSCRIPTION}"),
        ("azure-diagnostic-settings", "azure:entra"),
    }
    # the applications' (empty) federated credentials came with them: the secret-only ones are reported
    assert {f["rule_id"] for f in got["findings"]} >= {"azure-app-secret-without-federation"}
    assert_read_only(peer)
    # one page each; AcrPull is the one role the normalizer cannot name offline: one definition read
    assert peer.count() == {
        "servicePrincipals": 1,
        "applications": 1,
        "roleAssignments": 1,
        "roleDefinitions": 1,
        "diagnosticSettings": 1,
        "aadiamDiagnosticSettings": 1,
    }

    # the diagnostic settings give the same logging posture the exports give
    def posture(result: Any) -> Any:
        return [{k: v for k, v in s.items() if k != "source"} for s in result["logging"]["azure"]["scopes"]]

    assert posture(got) == posture(exported)
    assert got["summary"]["logging"] == {"azure": "partial"}
    assert "azure-identity-signin-logs-not-exported" in {f["rule_id"] for f in got["findings"]}
    graph = {c.path: c.query for c in peer.calls if c.path.startswith("/v1.0/")}
    assert graph["/v1.0/servicePrincipals"] == {"$select": ",".join(SP_FIELDS), "$top": "999"}
    assert graph["/v1.0/applications"] == {
        "$select": ",".join(APP_FIELDS),
        "$top": "999",
        "$expand": "federatedIdentityCredentials",
    }
    assert "secretText" not in APP_FIELDS
    assert all(c.query.get("api-version") for c in peer.calls if not c.path.startswith("/v1.0/"))
    assert all(c.authorization == f"Bearer {TEST_TOKEN}" for c in peer.calls)


def test_inventory_then_scan_gives_the_same_findings(peer: FakeAzure, tmp_path: Path) -> None:
    peer.seed_export_dir(AZURE_DIR)
    inv = tmp_path / "inv.json"
    res = nhiscan(peer, "inventory", *SUB, "--as-of", "2026-11-01", "-o", str(inv))
    assert res.code == 0, res.stderr
    assert_read_only(peer)
    live = nhiscan(peer, *scan_args(*SUB))
    offline = run_cli(*scan_args("--input", str(inv)))
    assert offline.code == 0, offline.stderr
    assert finding_keys(offline.json()) == finding_keys(live.json())
    assert "hint" in inv.read_text() and "secretText" not in inv.read_text()


def test_denied_subscription_is_one_line_and_the_rest_is_reported(peer: FakeAzure) -> None:
    peer.seed_export_dir(AZURE_DIR)
    peer.add_subscription(LOCKED)
    peer.deny(f"/subscriptions/{LOCKED}/")
    res = nhiscan(peer, *scan_args(*SUB, "--azure-subscription", LOCKED))
    assert res.code == 2
    lines = stderr_lines(res.stderr)
    assert len(lines) == 1, res.stderr
    assert f"azure:subscription/{LOCKED}" in lines[0]
    assert "permission denied" in lines[0] and "Reader" in lines[0]
    assert "Traceback" not in res.stderr
    got = res.json()
    assert finding_keys(got) == finding_keys(export_scan())  # Graph and the other subscription still count
    assert [e["source"] for e in got["errors"]] == [f"azure:subscription/{LOCKED}"]
    assert_read_only(peer)


def test_denied_entra_diagnostic_settings_is_one_line_and_the_rest_is_reported(peer: FakeAzure) -> None:
    peer.seed_export_dir(AZURE_DIR)
    peer.deny("/providers/microsoft.aadiam/diagnosticSettings")
    res = nhiscan(peer, *scan_args(*SUB))
    assert res.code == 2
    lines = stderr_lines(res.stderr)
    assert len(lines) == 1 and "azure:entra" in lines[0], res.stderr
    assert "permission denied on Entra ID diagnostic settings" in lines[0]
    assert "microsoft.aadiam/diagnosticSettings/read" in lines[0]
    got = res.json()
    # everything else still counts: the findings, and the subscription's Activity Log posture
    assert finding_keys(got) - finding_keys(export_scan()) == set()
    scopes = {s["scope"]: s["status"] for s in got["logging"]["azure"]["scopes"]}
    assert scopes[CONTOSO_SUBSCRIPTION] == "logged"
    assert "unknown" in scopes.values()  # the tenant's sign-in logs: nothing tells
    assert_read_only(peer)


def test_denied_graph_keeps_the_role_assignments(peer: FakeAzure) -> None:
    peer.seed_export_dir(AZURE_DIR)
    peer.deny("/v1.0/servicePrincipals", "Authorization_RequestDenied")
    res = nhiscan(peer, *scan_args(*SUB))
    assert res.code == 2
    lines = stderr_lines(res.stderr)
    assert len(lines) == 1 and "azure:graph" in lines[0], res.stderr
    assert "Application.Read.All" in lines[0]
    ids = {i["id"] for i in res.json()["identities"]}
    assert "a66b0d38-9d95-447e-bd29-9753a7677796" in ids  # from its role assignment alone


def test_throttled_then_answered_is_retried(peer: FakeAzure) -> None:
    peer.seed_export_dir(AZURE_DIR)
    peer.throttle(
        f"/subscriptions/{CONTOSO_SUBSCRIPTION}/providers/Microsoft.Authorization/roleAssignments", 2
    )
    peer.throttle("/v1.0/applications", 1)
    res = nhiscan(peer, *scan_args(*SUB))
    assert res.code == 0, res.stderr
    assert finding_keys(res.json()) == finding_keys(export_scan())
    assert peer.count() == {
        "servicePrincipals": 1,
        "applications": 2,
        "roleAssignments": 3,
        "roleDefinitions": 1,
        "diagnosticSettings": 1,
        "aadiamDiagnosticSettings": 1,
    }


def test_paging_follows_next_links_and_costs_one_request_per_page(peer: FakeAzure) -> None:
    peer.graph_max_page = 100  # Graph may answer smaller pages than $top=999
    peer.arm_page = 40
    subs = peer.synthetic_tenant(250, subscriptions=2)
    res = nhiscan(peer, *scan_args(*(a for s in subs for a in ("--azure-subscription", s))))
    assert res.code == 0, res.stderr
    got = res.json()
    assert len(got["identities"]) == 250
    assert all(len(i["credentials"]) == 1 and i["grants"] for i in got["identities"])
    pages = [c for c in peer.calls if c.path == "/v1.0/servicePrincipals"]
    assert [c.query["$top"] for c in pages] == ["999"] * 3  # the next link keeps the query
    assert len({c.query.get("$skiptoken") for c in pages}) == 3
    arm_pages = 2 * math.ceil(125 / 40)
    # AcrPull is read once for the scan, however many subscriptions use it
    assert peer.count() == {
        "servicePrincipals": 3,
        "applications": 3,
        "roleAssignments": arm_pages,
        "roleDefinitions": 1,
        "diagnosticSettings": 2,
        "aadiamDiagnosticSettings": 1,
    }
    assert_read_only(peer)


def test_no_credentials_is_one_clear_line(peer: FakeAzure, tmp_path: Path) -> None:
    env = {
        "NHISCAN_AZURE_TEST_TOKEN": "",
        # only the Azure CLI credential, and no `az` on PATH: nothing to wait for (IMDS) or run here
        "AZURE_TOKEN_CREDENTIALS": "AzureCliCredential",
        "PATH": str(tmp_path),
    }
    res = nhiscan(peer, *scan_args(*SUB), env=env)
    assert res.code == 2
    lines = stderr_lines(res.stderr)
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith("nhiscan: error: azure: no Azure credentials found")
    assert "az login" in lines[0] and "AZURE_CLIENT_SECRET" in lines[0] and "managed identity" in lines[0]
    assert peer.calls == []


def test_unusable_credential_settings_are_one_clear_line(peer: FakeAzure, tmp_path: Path) -> None:
    env = {
        "NHISCAN_AZURE_TEST_TOKEN": "",
        "AZURE_TOKEN_CREDENTIALS": "EnvironmentCredential",
        "AZURE_CLIENT_ID": "",
        "AZURE_TENANT_ID": "",
        "AZURE_CLIENT_SECRET": "",
    }
    res = nhiscan(peer, *scan_args(*SUB), env=env)
    assert res.code == 2
    lines = stderr_lines(res.stderr)
    assert len(lines) == 1 and lines[0].startswith("nhiscan: error: azure: "), res.stderr
    assert "Traceback" not in res.stderr
    assert peer.calls == []


def test_test_token_is_refused_unless_both_endpoints_are_loopback(peer: FakeAzure) -> None:
    res = nhiscan(peer, *scan_args(*SUB), env={"NHISCAN_AZURE_ARM_ENDPOINT": "https://management.azure.com"})
    assert res.code == 2
    lines = stderr_lines(res.stderr)
    assert len(lines) == 1 and "refusing to send a test token" in lines[0], res.stderr
    assert peer.calls == []


def test_invalid_subscription_id_is_named(peer: FakeAzure) -> None:
    res = nhiscan(peer, *scan_args("--azure-subscription", "not-a-guid"))
    assert res.code == 2
    assert stderr_lines(res.stderr) == [
        "nhiscan: error: azure:subscription/not-a-guid: not a valid subscription id (expected a GUID)"
    ]
    assert peer.calls == []


def test_unknown_subscription_is_not_found(peer: FakeAzure) -> None:
    peer.seed_export_dir(AZURE_DIR)
    res = nhiscan(peer, *scan_args(*SUB, "--azure-subscription", LOCKED))
    assert res.code == 2
    lines = stderr_lines(res.stderr)
    assert len(lines) == 1 and f"azure:subscription/{LOCKED}: subscription not found" in lines[0], res.stderr


def test_secret_text_never_reaches_the_output(peer: FakeAzure) -> None:
    peer.seed_export_dir(AZURE_DIR)
    planted = "Zq8~planted.SECRET.value.that.must.never.appear"
    peer.tenant.applications[0]["passwordCredentials"][0]["secretText"] = planted
    res = nhiscan(peer, "inventory", *SUB, "--as-of", "2026-11-01")
    assert res.code == 0, res.stderr
    assert planted not in res.stdout
    hints = [
        c
        for i in json.loads(res.stdout)["identities"]
        for c in i["credentials"]
        if c["kind"] == "azure-client-secret"
    ]
    assert hints, "the client secrets are still listed (by key id and hint)"


def test_arm_form_matches_what_the_peer_serves() -> None:
    # the peer's ARM form carries no name the Azure CLI adds: the collector must resolve role names
    flat = json.loads((AZURE_DIR / "role-assignments.json").read_text())[0]
    assert "roleDefinitionName" not in arm_form(flat)["properties"]


def test_federated_application_is_not_prompted(peer: FakeAzure) -> None:
    """A federated identity credential on the application (expanded into the Graph listing) is the
    replacement for its secret: no azure-app-secret-without-federation finding for it."""
    peer.seed_export_dir(AZURE_DIR)
    before = nhiscan(peer, *scan_args(*SUB)).json()
    prompted = {
        f["identity_id"] for f in before["findings"] if f["rule_id"] == "azure-app-secret-without-federation"
    }
    assert prompted
    by_app = {i["attributes"]["app_id"]: i["id"] for i in before["identities"] if i["id"] in prompted}
    app_id = sorted(by_app)[0]
    app = next(a for a in peer.tenant.applications if a["appId"] == app_id)
    app["federatedIdentityCredentials"] = [
        {
            "audiences": ["api://AzureADTokenExchange"],
            "description": None,
            "id": "2b7c9e41-5a3d-4f86-b0e2-7d1c3a5e9f04",
            "issuer": "https://token.actions.githubusercontent.com",
            "name": "deploy-main",
            "subject": "repo:contoso/platform:ref:refs/heads/main",
        }
    ]
    after = nhiscan(peer, *scan_args(*SUB)).json()
    still = {
        f["identity_id"] for f in after["findings"] if f["rule_id"] == "azure-app-secret-without-federation"
    }
    assert still == prompted - {by_app[app_id]}
    assert_read_only(peer)
