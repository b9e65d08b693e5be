"""`nhiscan scan/inventory --gcp-project` end to end: the installed CLI against the in-process gRPC peer."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.conftest import run_cli
from tests.gcp_live.conftest import (
    GCP_DIR,
    assert_read_only,
    export_inputs,
    findings_of,
    nhiscan,
    no_adc_env,
    scan_args,
)
from tests.gcp_live.peer import FakeGcp, secure_org_policies


def org_policy_export(tmp_path: Path, project: str = "acme-prod") -> list[str]:
    """What `gcloud org-policies describe CONSTRAINT --effective --format=json` prints for the
    peer's default answers, one file holding the three policies."""
    path = tmp_path / "org-policies.json"
    policies = [
        {"name": f"projects/{project}/policies/{c}", "spec": spec}
        for c, spec in secure_org_policies().items()
    ]
    path.write_text(json.dumps(policies))
    return ["--input", str(path)]


def without_hop_files(identities: Any) -> Any:
    return [{**i, "escalation_path": [{**h, "file": None} for h in i["escalation_path"]]} for i in identities]


def export_scan(*extra: str) -> dict[str, object]:
    res = run_cli(*scan_args(*export_inputs(), *extra))
    assert res.code == 0, res.stderr
    out: dict[str, object] = res.json()
    return out


def test_live_scan_equals_export_scan(peer: FakeGcp, tmp_path: Path) -> None:
    peer.seed_export_dir(GCP_DIR, "acme-prod")
    live = nhiscan(peer, *scan_args("--gcp-project", "acme-prod"))
    assert live.code == 0, live.stderr
    assert live.stderr == ""
    exported = export_scan(*org_policy_export(tmp_path))
    got: Any = live.json()
    assert findings_of(got), "the fixture project should have findings"
    assert findings_of(got) == exported["findings"]
    # an escalation hop names the source it came from: the live project, or the export file
    live_files = {h["file"] for i in got["identities"] for h in i["escalation_path"]}
    assert live_files <= {"gcp:acme-prod", None}, live_files
    assert without_hop_files(got["identities"]) == without_hop_files(exported["identities"])

    # the policy's auditConfigs come with it: the same logging posture, from the API
    def posture(result: Any) -> Any:
        return [{k: v for k, v in s.items() if k != "source"} for s in result["logging"]["gcp"]["scopes"]]

    assert posture(got) == posture(exported)
    assert got["log_configs"][0]["attributes"]["audit_configs"]
    assert {f["rule_id"] for f in findings_of(got)} >= {
        "gcp-iam-data-access-not-logged",
        "gcp-audit-log-exempts-service-account",
    }
    assert {(s["kind"], s["scope"], s["path"]) for s in got["sources"]} == {
        ("gcp-service-accounts", "acme-prod", "gcp:acme-prod"),
        ("gcp-service-account-keys", "acme-prod", "gcp:acme-prod"),
        ("gcp-iam-policy", "acme-prod", "gcp:acme-prod"),
        ("gcp-org-policies", "acme-prod", "gcp:acme-prod"),
    }
    # the conditional binding only a version-3 reader gets is there, because nhiscan asked for v3
    assert [
        c.detail["requested_policy_version"] for c in peer.calls if c.method.endswith("/GetIamPolicy")
    ] == [3]
    assert_read_only(peer.methods())
    assert peer.count() == {
        "ListServiceAccounts": 1,
        "ListServiceAccountKeys": 6,
        "GetIamPolicy": 1,
        "GetEffectivePolicy": 3,
    }


def test_live_inventory_equals_export_inventory(peer: FakeGcp, tmp_path: Path) -> None:
    peer.seed_export_dir(GCP_DIR, "acme-prod")
    live = nhiscan(peer, "inventory", "--gcp-project", "acme-prod", "--as-of", "2026-11-01")
    assert live.code == 0, live.stderr
    exported = run_cli("inventory", *export_inputs(), *org_policy_export(tmp_path), "--as-of", "2026-11-01")
    assert exported.code == 0, exported.stderr
    assert live.json()["identities"] == exported.json()["identities"]
    assert_read_only(peer.methods())


def test_paging_collects_every_account(peer: FakeGcp) -> None:
    peer.synthetic_project("big-project", 250)
    res = nhiscan(peer, *scan_args("--gcp-project", "big-project"))
    assert res.code == 0, res.stderr
    got = res.json()
    emails = {i["id"] for i in got["identities"] if i["scope"] == "big-project"}
    assert len(emails) == 250
    assert all(len(i["credentials"]) == 1 for i in got["identities"] if i["id"] in emails)
    pages = [c for c in peer.calls if c.method.endswith("/ListServiceAccounts")]
    assert [c.detail["page_size"] for c in pages] == [100, 100, 100]
    assert pages[0].detail["page_token"] == "" and all(c.detail["page_token"] for c in pages[1:])
    assert len({c.detail["page_token"] for c in pages}) == 3
    assert peer.count() == {
        "ListServiceAccounts": 3,
        "ListServiceAccountKeys": 250,
        "GetIamPolicy": 1,
        "GetEffectivePolicy": 3,
    }
    assert_read_only(peer.methods())


def test_denied_project_is_one_error_and_the_other_is_still_scanned(peer: FakeGcp, tmp_path: Path) -> None:
    peer.seed_export_dir(GCP_DIR, "acme-prod")
    peer.synthetic_project("acme-locked", 5)
    peer.deny("acme-locked", "ListServiceAccounts", "iam.serviceAccounts.list")
    out = tmp_path / "result.json"
    res = nhiscan(
        peer,
        *scan_args("--gcp-project", "acme-locked", "--gcp-project", "acme-prod", "--output", str(out)),
    )
    assert res.code == 2, res.stderr
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert lines == [
        "nhiscan: error: gcp:acme-locked: permission denied on iam.serviceAccounts.list "
        "(need roles/iam.securityReviewer)"
    ], res.stderr
    got = json.loads(out.read_text())
    assert findings_of(got) == export_scan()["findings"]
    assert not any(i["scope"] == "acme-locked" for i in got["identities"])
    assert_read_only(peer.methods())


def test_denied_key_listing_keeps_accounts_and_policy(peer: FakeGcp) -> None:
    peer.seed_export_dir(GCP_DIR, "acme-prod")
    peer.deny("acme-prod", "ListServiceAccountKeys", "iam.serviceAccountKeys.list")
    res = nhiscan(peer, *scan_args("--gcp-project", "acme-prod"))
    assert res.code == 2
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, res.stderr
    assert "gcp:acme-prod" in lines[0] and "iam.serviceAccountKeys.list" in lines[0]
    got = res.json()
    assert len([i for i in got["identities"] if i["scope"] == "acme-prod"]) >= 6
    assert not any(i["credentials"] for i in got["identities"])
    rules = {f["rule_id"] for f in got["findings"]}
    assert "gcp-default-compute-sa-editor" in rules  # from the policy, which was still read


def test_unknown_project_is_one_error(peer: FakeGcp) -> None:
    res = nhiscan(peer, *scan_args("--gcp-project", "no-such-project"))
    assert res.code == 2
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("nhiscan: error: gcp:no-such-project: project not found")


def test_missing_adc_is_one_clear_error(tmp_path: Path) -> None:
    env = no_adc_env(tmp_path)
    res = run_cli(*scan_args("--gcp-project", "acme-prod", "--gcp-project", "acme-dev"), env=env, timeout=60)
    assert res.code == 2
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith("nhiscan: error: gcp:acme-prod,acme-dev: no Google credentials found")
    assert "Traceback" not in res.stderr


def test_key_material_never_reaches_the_output(peer: FakeGcp) -> None:
    """Even if an answer carried key material, nhiscan copies none of it."""
    proj = peer.seed_export_dir(GCP_DIR, "acme-prod")
    planted = b"-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n"
    for keys in proj.keys.values():
        for key in keys:
            key.private_key_data = planted
            key.public_key_data = b"ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7"
    res = nhiscan(peer, *scan_args("--gcp-project", "acme-prod"))
    assert res.code == 0, res.stderr
    inv = nhiscan(peer, "inventory", "--gcp-project", "acme-prod")
    for text in (res.stdout, inv.stdout):
        assert "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC" not in text
        assert "LS0tLS1CRUdJTi" not in text  # base64 of the PEM header
        assert "AAAAB3NzaC1yc2E" not in text and "c3NoLXJzYSBBQUFB" not in text


def test_key_creation_allowed_is_read_live(peer: FakeGcp) -> None:
    """The effective organization policies come over the API: a project whose organization lets
    anyone create keys, holding user-managed keys, is reported."""
    project = peer.seed_export_dir(GCP_DIR, "acme-prod")
    project.org_policies = {"iam.disableServiceAccountKeyCreation": {"rules": [{"enforce": False}]}}
    res = nhiscan(peer, *scan_args("--gcp-project", "acme-prod"))
    assert res.code == 0, res.stderr
    hits = [f for f in res.json()["findings"] if f["rule_id"] == "gcp-sa-key-creation-allowed"]
    assert len(hits) == 1 and hits[0]["severity"] == "medium"
    assert hits[0]["evidence"]["not_enforced"] == [
        "iam.disableServiceAccountKeyCreation",
        "iam.disableServiceAccountKeyUpload",
        "iam.serviceAccountKeyExpiryHours",
    ]
    names = sorted(c.resource or "" for c in peer.calls if c.method.endswith("/GetEffectivePolicy"))
    assert names == [
        "projects/acme-prod/policies/iam.disableServiceAccountKeyCreation",
        "projects/acme-prod/policies/iam.disableServiceAccountKeyUpload",
        "projects/acme-prod/policies/iam.serviceAccountKeyExpiryHours",
    ]
    assert_read_only(peer.methods())


def test_denied_org_policies_are_a_warning_not_an_error(peer: FakeGcp) -> None:
    peer.seed_export_dir(GCP_DIR, "acme-prod")
    peer.deny("acme-prod", "GetEffectivePolicy", "orgpolicy.policy.get")
    res = nhiscan(peer, *scan_args("--gcp-project", "acme-prod"))
    assert res.code == 0, res.stderr
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert lines == [
        "nhiscan: warning: gcp:acme-prod: permission denied on orgpolicy.policy.get "
        "(need roles/iam.securityReviewer); organization policies not read, so "
        "gcp-sa-key-creation-allowed does not judge this project"
    ]
    got = res.json()
    assert "gcp-org-policies" not in {s["kind"] for s in got["sources"]}
    assert findings_of(got) == export_scan()["findings"]
