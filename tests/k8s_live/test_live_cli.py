"""`nhiscan scan/inventory --k8s-context` end to end: the installed CLI against the HTTPS API-server peer."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import run_cli
from tests.k8s_live.conftest import K8S_EXPORT, assert_no_secret, export_scan, nhiscan, scan_args
from tests.k8s_live.peer import FakeK8s

RESOURCES = {"serviceaccounts", "secrets", "roles", "clusterroles", "rolebindings", "clusterrolebindings"}


def _lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.strip()]


def _pairs(result: dict[str, object]) -> set[tuple[str, str]]:
    return {(f["rule_id"], f["identity_id"]) for f in result["findings"]}  # type: ignore[attr-defined]


def test_live_scan_equals_export_scan(peer: FakeK8s, kubeconfig: Path) -> None:
    peer.seed_export(K8S_EXPORT)
    live = nhiscan(kubeconfig, *scan_args("--k8s-context", "prod"))
    assert live.code == 0, live.stderr
    assert live.stderr == ""
    got, exported = live.json(), export_scan("prod")
    assert got["findings"], "the fixture cluster should have findings"
    assert _pairs(got) == _pairs(exported)
    assert got["findings"] == exported["findings"]
    assert got["identities"] == exported["identities"]
    assert got["sources"] == [{"kind": "kubernetes-objects", "scope": "prod", "path": "kubernetes:prod"}]
    # read-only on the wire: six list calls, all GET, one page each at kubectl's chunk size
    assert peer.methods() == {"GET"}
    assert peer.count() == dict.fromkeys(RESOURCES, 1)
    assert all(r.query.get("limit") == "500" and "continue" not in r.query for r in peer.requests)
    secrets = [r for r in peer.requests if r.resource == "secrets"]
    assert secrets[0].query["fieldSelector"] == "type=kubernetes.io/service-account-token"
    assert all(r.user_agent.startswith("nhiscan/") for r in peer.requests)
    assert_no_secret(live.stdout, live.stderr)


def test_inventory_then_scan_gives_the_same_findings(peer: FakeK8s, kubeconfig: Path, tmp_path: Path) -> None:
    peer.seed_export(K8S_EXPORT)
    inv = tmp_path / "inv.json"
    res = nhiscan(kubeconfig, "inventory", "--k8s-context", "prod", "--as-of", "2026-11-01", "-o", str(inv))
    assert res.code == 0, res.stderr
    rescan = run_cli(*scan_args("--input", str(inv)))
    assert rescan.code == 0, rescan.stderr
    assert rescan.json()["findings"] == export_scan("prod")["findings"]
    tokens = [i for i in json.loads(inv.read_text())["identities"] if i["credentials"]]
    assert {c["kind"] for i in tokens for c in i["credentials"]} == {"k8s-sa-token"}
    assert_no_secret(inv.read_text(), res.stdout, res.stderr, rescan.stdout)
    assert peer.methods() == {"GET"}


def test_paging_follows_continue_tokens(peer: FakeK8s, kubeconfig: Path) -> None:
    peer.synthetic(1200)  # 1,200 accounts, 600 role bindings, 120 token secrets, 20 roles, 10+12 cluster-wide
    res = nhiscan(kubeconfig, *scan_args("--k8s-context", "prod"))
    assert res.code == 0, res.stderr
    got = res.json()
    assert len(got["identities"]) == 1200
    assert sum(len(i["credentials"]) for i in got["identities"]) == 120
    # requests grow with pages of 500, not with objects
    assert peer.count() == {
        "serviceaccounts": 3,
        "rolebindings": 2,
        "secrets": 1,
        "roles": 1,
        "clusterroles": 1,
        "clusterrolebindings": 1,
    }
    pages = [r for r in peer.requests if r.resource == "serviceaccounts"]
    assert "continue" not in pages[0].query
    assert len({r.query.get("continue") for r in pages[1:]}) == 2
    assert peer.methods() == {"GET"}


def test_forbidden_secrets_is_one_error_and_the_rest_is_scanned(
    peer: FakeK8s, kubeconfig: Path, tmp_path: Path
) -> None:
    peer.seed_export(K8S_EXPORT)
    peer.denied.add("secrets")
    out = tmp_path / "result.json"
    res = nhiscan(kubeconfig, *scan_args("--k8s-context", "prod", "--output", str(out)))
    assert res.code == 2, res.stderr
    lines = _lines(res.stderr)
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith("nhiscan: error: kubernetes:prod: permission denied listing secrets (403)")
    assert "the other resources were collected" in lines[0]
    got = json.loads(out.read_text())
    rules = {f["rule_id"] for f in got["findings"]}
    assert {"k8s-sa-cluster-admin", "k8s-default-sa-with-permissions"} <= rules
    assert "k8s-legacy-sa-token-secret" not in rules  # the tokens were what could not be read
    expected = {p for p in _pairs(export_scan("prod")) if p[0] != "k8s-legacy-sa-token-secret"}
    assert _pairs(got) == expected
    assert got["errors"] == [
        {"source": "kubernetes:prod", "message": lines[0].split("kubernetes:prod: ", 1)[1]}
    ]
    assert peer.methods() == {"GET"}


def test_unknown_context_is_one_clear_error(peer: FakeK8s, kubeconfig: Path) -> None:
    res = nhiscan(kubeconfig, *scan_args("--k8s-context", "no-such-context"))
    assert res.code == 2
    assert _lines(res.stderr) == [
        f"nhiscan: error: kubernetes:no-such-context: context 'no-such-context' not found in kubeconfig "
        f"{kubeconfig} (contexts: prod, staging)"
    ]
    assert not peer.requests


def test_missing_kubeconfig_and_unreachable_server(peer: FakeK8s, kubeconfig: Path, tmp_path: Path) -> None:
    res = run_cli(*scan_args("--k8s-context", "prod"), env={"KUBECONFIG": str(tmp_path / "nope")})
    assert res.code == 2
    assert _lines(res.stderr) == [
        f"nhiscan: error: kubernetes:prod: no kubeconfig found (KUBECONFIG={tmp_path / 'nope'} does not exist)"
    ]
    # "staging" points at a closed port: one line, naming the server, and the other sources still count
    res = nhiscan(kubeconfig, *scan_args("--k8s-context", "staging", "--input", f"prod={K8S_EXPORT}"))
    assert res.code == 2
    lines = _lines(res.stderr)
    assert len(lines) == 1 and "Traceback" not in res.stderr
    assert lines[0].startswith(
        "nhiscan: error: kubernetes:staging: API server https://127.0.0.1:9 unreachable (listing serviceaccounts)"
    )
    assert _pairs(res.json()) == _pairs(export_scan("prod"))


def test_rejected_credentials(peer: FakeK8s, tmp_path: Path) -> None:
    config = peer.kubeconfig(tmp_path / "kubeconfig", token="expired-token")
    res = nhiscan(config, *scan_args("--k8s-context", "prod"))
    assert res.code == 2
    lines = _lines(res.stderr)
    assert len(lines) == 1 and "rejected the credentials" in lines[0] and "kubernetes:prod" in lines[0]
    assert peer.count() == {"serviceaccounts": 1}  # no point asking for the rest
    assert "expired-token" not in res.stderr + res.stdout


def test_baseline_create_takes_live_sources(peer: FakeK8s, kubeconfig: Path, tmp_path: Path) -> None:
    """`baseline create --k8s-context` records the live findings; a later live scan fails on none."""
    peer.seed_export(K8S_EXPORT)
    base = tmp_path / ".nhiscan-baseline.json"
    res = nhiscan(
        kubeconfig, "baseline", "create", "--k8s-context", "prod", "--as-of", "2026-11-01", "-o", str(base)
    )
    assert res.code == 0, res.stderr
    recorded = {f["fingerprint"] for f in json.loads(base.read_text())["findings"]}
    assert recorded == {f["fingerprint"] for f in export_scan("prod")["findings"]}
    again = nhiscan(kubeconfig, "scan", "--k8s-context", "prod", "--baseline", str(base), "--fail-on", "low")
    assert again.code == 0, again.stderr
    assert_no_secret(base.read_text())
