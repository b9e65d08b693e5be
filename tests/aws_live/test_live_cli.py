"""`nhiscan scan --aws` / `inventory --aws` end to end: the real CLI against moto in server mode."""

from __future__ import annotations

import base64
import json
import socket
from pathlib import Path
from typing import Any

import pytest

from tests.aws_live.conftest import (
    AS_OF,
    Account,
    aws_cli,
    build_account,
    finding_keys,
    nhiscan,
)
from tests.aws_live.moto_peer import Fault, MotoPeer
from tests.conftest import ROOT

READ_ONLY_EXTRA = {"sts:AssumeRole", "sts:GetCallerIdentity"}
SCAN = ("scan", "--aws", "--format", "json", "--as-of", AS_OF, "--fail-on", "none")


PERMISSIONS = json.loads((ROOT / "docs" / "aws-permissions.json").read_text())
GRANTED = {a for st in PERMISSIONS["Statement"] for a in st["Action"]}


def assert_read_only(ops: list[str]) -> None:
    """Every operation on the wire is read-only, and docs/aws-permissions.json grants it."""
    assert ops, "no AWS call was recorded"
    missing = sorted(set(ops) - GRANTED)
    assert not missing, f"docs/aws-permissions.json lacks {missing}"
    writes = [
        op
        for op in ops
        if op not in READ_ONLY_EXTRA
        and not op.split(":", 1)[1].startswith(("List", "Get", "Generate", "Describe"))
    ]
    assert not writes, f"nhiscan made non-read-only calls: {sorted(set(writes))}"


@pytest.fixture
def account(peer: MotoPeer) -> Account:
    return build_account(peer.client("iam"))


@pytest.fixture
def live(peer: MotoPeer, account: Account) -> tuple[Any, list[str], str]:
    res = nhiscan(peer, *SCAN)
    assert res.code == 0, res.stderr
    return res.json(), peer.recorder.ops(), res.stderr


def test_live_scan_finds_the_planted_problems(live: tuple[Any, list[str], str], account: Account) -> None:
    result, _, stderr = live
    acct = account.account_id
    ids = {i["id"] for i in result["identities"]}
    for name, path in (("svc-deploy", "/svc/"), ("build-bot", "/ci/"), ("alice", "/")):
        assert f"arn:aws:iam::{acct}:user{path}{name}" in ids
    for role in account.roles:
        assert f"arn:aws:iam::{acct}:role/{role}" in ids
    found = finding_keys(result)
    rules = {(r, i) for r, i, _ in found}
    assert ("aws-two-active-keys", f"arn:aws:iam::{acct}:user/svc/svc-deploy") in rules
    assert ("aws-admin-equivalent", f"arn:aws:iam::{acct}:user/svc/svc-deploy") in rules
    assert ("aws-oidc-trust-without-sub", f"arn:aws:iam::{acct}:role/gha-deploy") in rules
    assert ("aws-trust-wildcard-principal", f"arn:aws:iam::{acct}:role/open-door") in rules
    assert ("aws-cross-account-trust-without-external-id", f"arn:aws:iam::{acct}:role/partner-read") in rules
    assert ("aws-machine-user-console-password", f"arn:aws:iam::{acct}:user/svc/svc-legacy") in rules
    # MaxSessionDuration comes from list-roles (the authorization details do not carry it)
    long_sessions = {i for r, i, _ in found if r == "aws-role-long-session"}
    assert long_sessions == {f"arn:aws:iam::{acct}:role/fn-worker"}
    # credentials carry their real ids, from list_access_keys / the extras
    by_id = {i["id"]: i for i in result["identities"]}
    deploy = by_id[f"arn:aws:iam::{acct}:user/svc/svc-deploy"]
    assert sorted(c["id"] for c in deploy["credentials"] if c["kind"] == "aws-access-key") == sorted(
        account.key_users["svc-deploy"]
    )
    bot = by_id[f"arn:aws:iam::{acct}:user/ci/build-bot"]
    assert any(c["kind"] == "aws-ssh-key" and c["id"].startswith("APKA") for c in bot["credentials"])
    legacy = by_id[f"arn:aws:iam::{acct}:user/svc/svc-legacy"]
    assert {c["kind"] for c in legacy["credentials"]} >= {
        "aws-access-key",
        "aws-console-password",
        "aws-signing-certificate",
    }
    alice = by_id[f"arn:aws:iam::{acct}:user/alice"]
    assert alice["nonhuman"] is False
    # moto lacks ListServiceSpecificCredentials: one warning line, not an error
    assert "ListServiceSpecificCredentials" in stderr and "warning" in stderr
    assert "error" not in stderr
    assert result.get("errors", []) == []
    sources = {(s["kind"], s["scope"], s["path"]) for s in result["sources"]}
    for kind in ("aws-gaad", "aws-list-roles", "aws-credential-report", "aws-access-keys", "aws-iam-extras"):
        assert (kind, acct, f"aws:{acct}") in sources


def test_every_call_is_read_only_and_scales_with_pages(
    live: tuple[Any, list[str], str], account: Account
) -> None:
    _, ops, _ = live
    assert_read_only(ops)
    count = {op: ops.count(op) for op in set(ops)}
    # bulk calls once each (moto returns one page)
    for op in (
        "iam:GetAccountAuthorizationDetails",
        "iam:GetCredentialReport",
        "iam:ListVirtualMFADevices",
        "iam:ListSAMLProviders",
        "iam:ListOpenIDConnectProviders",
        "iam:ListAccountAliases",
        "iam:ListRoles",
        "sts:GetCallerIdentity",
    ):
        assert count.get(op) == 1, (op, count)
    # per-user calls only where the credential report says they matter
    assert count["iam:ListAccessKeys"] == len(account.key_users)
    assert count["iam:ListSigningCertificates"] == 1  # only svc-legacy has one
    assert count["iam:ListSSHPublicKeys"] == len(account.users)  # no bulk call, no report column
    assert "iam:ListMFADevices" not in count  # alice's device came from the bulk virtual-MFA listing
    assert "iam:GetLoginProfile" not in count  # the report's password_enabled says it
    assert "iam:GetAccessKeyLastUsed" not in count  # the report's last-used columns say it
    assert count["iam:GetOpenIDConnectProvider"] == 1


def test_live_and_export_scans_give_identical_findings(
    peer: MotoPeer, account: Account, live: tuple[Any, list[str], str], tmp_path: Path
) -> None:
    live_result, _, _ = live
    # the same account through the real AWS CLI's exports
    (tmp_path / "gaad.json").write_text(json.dumps(aws_cli(peer, "iam", "get-account-authorization-details")))
    aws_cli(peer, "iam", "generate-credential-report")
    report = aws_cli(peer, "iam", "get-credential-report")
    assert base64.b64decode(report["Content"]).startswith(b"user,arn")
    (tmp_path / "credential-report.json").write_text(json.dumps(report))
    # moto's account has no trail: describe-trails lists none, so it needs ACCOUNT=FILE
    (tmp_path / "trails.json").write_text(json.dumps(aws_cli(peer, "cloudtrail", "describe-trails")))
    (tmp_path / "list-roles.json").write_text(json.dumps(aws_cli(peer, "iam", "list-roles")))
    args = ["--input", str(tmp_path / "gaad.json"), "--input", str(tmp_path / "credential-report.json")]
    args += ["--input", f"{account.account_id}={tmp_path / 'trails.json'}"]
    args += ["--input", str(tmp_path / "list-roles.json")]
    for user in account.key_users:
        out = tmp_path / f"keys-{user}.json"
        out.write_text(json.dumps(aws_cli(peer, "iam", "list-access-keys", "--user-name", user)))
        args += ["--input", str(out)]
    offline = nhiscan(peer, "scan", *args, "--format", "json", "--as-of", AS_OF, "--fail-on", "none")
    assert offline.code == 0, offline.stderr
    exported = offline.json()
    assert finding_keys(live_result), "the comparison needs findings"
    assert finding_keys(live_result) == finding_keys(exported)

    # the same logging posture too (only where its facts came from differs)
    def posture(result: Any) -> Any:
        return [{k: v for k, v in s.items() if k != "source"} for s in result["logging"]["aws"]["scopes"]]

    assert posture(live_result) == posture(exported)
    assert posture(live_result)[0]["status"] == "not-logged"
    assert {i["id"] for i in live_result["identities"]} == {i["id"] for i in exported["identities"]}
    # the export has no SSH keys / certificate ids / MFA devices: live knows more credentials, never fewer
    live_creds = {c["id"] for i in live_result["identities"] for c in i["credentials"]}
    exported_access_keys = {
        c["id"] for i in exported["identities"] for c in i["credentials"] if c["kind"] == "aws-access-key"
    }
    assert exported_access_keys <= live_creds


def test_inventory_round_trip_gives_the_same_findings(
    peer: MotoPeer, account: Account, live: tuple[Any, list[str], str], tmp_path: Path
) -> None:
    inv = tmp_path / "inv.json"
    res = nhiscan(peer, "inventory", "--aws", "-o", str(inv), "--as-of", AS_OF)
    assert res.code == 0, res.stderr
    assert_read_only(peer.recorder.ops())
    again = nhiscan(
        peer, "scan", "--input", str(inv), "--format", "json", "--as-of", AS_OF, "--fail-on", "none"
    )
    assert again.code == 0, again.stderr
    assert finding_keys(again.json()) == finding_keys(live[0])
    # no secret access key anywhere in what nhiscan wrote
    text = inv.read_text() + res.stdout + res.stderr + json.dumps(live[0])
    for secret in account.secrets:
        assert secret not in text and secret[:12] not in text


def test_no_credentials_is_one_clear_exit_2(peer: MotoPeer) -> None:
    res = nhiscan(peer, *SCAN, env={"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": ""})
    assert res.code == 2
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith("nhiscan: error: --aws: no AWS credentials found")
    assert "Traceback" not in res.stderr


def test_unknown_profile_names_the_profile(peer: MotoPeer, tmp_path: Path) -> None:
    for implied in ((), ("--aws",)):  # --aws-profile alone means --aws
        res = nhiscan(peer, "scan", *implied, "--aws-profile", "nope", "--format", "json")
        assert res.code == 2
        assert "nhiscan: error: --aws-profile nope: AWS profile not found: nope" in res.stderr


def test_unreachable_endpoint_is_one_clear_exit_2(peer: MotoPeer) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again below: nothing listens there
    res = nhiscan(peer, *SCAN, env={"AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}"})
    assert res.code == 2
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, res.stderr
    assert "sts:GetCallerIdentity: AWS endpoint unreachable" in lines[0]


def test_access_denied_names_the_permission_and_keeps_the_rest(peer: MotoPeer, account: Account) -> None:
    """A principal that may read GAAD but not the credential report: moto itself says AccessDenied."""
    iam = peer.client("iam")
    iam.create_user(UserName="auditor")
    iam.put_user_policy(
        UserName="auditor",
        PolicyName="partial",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": [
                            "sts:GetCallerIdentity",
                            "iam:GetAccountAuthorizationDetails",
                            "iam:List*",
                            "iam:GetLoginProfile",
                            "iam:GetAccessKeyLastUsed",
                            "iam:GetOpenIDConnectProvider",
                        ],
                        "Resource": "*",
                    }
                ],
            }
        ),
    )
    key = iam.create_access_key(UserName="auditor")["AccessKey"]
    peer.enforce_iam()
    res = nhiscan(
        peer,
        *SCAN,
        env={"AWS_ACCESS_KEY_ID": key["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"]},
    )
    assert res.code == 2, res.stderr
    errors = [ln for ln in res.stderr.splitlines() if ln.startswith("nhiscan: error:")]
    # no cloudtrail:* in the policy either: one more line naming it, the account still collected
    assert errors == [
        "nhiscan: error: aws:123456789012: iam:GenerateCredentialReport denied (AccessDenied): the "
        "credentials need the permission iam:GenerateCredentialReport (read-only policy: "
        "docs/aws-permissions.json)",
        "nhiscan: error: aws:123456789012: cloudtrail:DescribeTrails denied (AccessDenied): the "
        "credentials need the permission cloudtrail:DescribeTrails (read-only policy: "
        "docs/aws-permissions.json)",
    ], res.stderr
    result = res.json()
    assert [e["source"] for e in result["errors"]] == ["aws:123456789012", "aws:123456789012"]
    assert result["logging"]["aws"]["scopes"][0]["status"] == "unknown"
    # without the report nhiscan fell back to per-user calls and still knows keys and passwords
    by_id = {i["id"]: i for i in result["identities"]}
    legacy = by_id["arn:aws:iam::123456789012:user/svc/svc-legacy"]
    assert {c["kind"] for c in legacy["credentials"]} >= {"aws-access-key", "aws-console-password"}
    ops = peer.recorder.ops()
    assert_read_only(ops)
    assert "iam:GetLoginProfile" in ops and "iam:GetAccessKeyLastUsed" in ops


def test_throttled_beyond_retries_is_reported_and_the_rest_kept(peer: MotoPeer, account: Account) -> None:
    peer.recorder.faults.append(Fault("iam", "GetAccountAuthorizationDetails", "Throttling", status=400))
    res = nhiscan(peer, *SCAN)
    assert res.code == 2
    errors = [ln for ln in res.stderr.splitlines() if ln.startswith("nhiscan: error:")]
    assert len(errors) == 1, res.stderr
    assert "iam:GetAccountAuthorizationDetails: throttled by AWS (Throttling) beyond 2 attempts" in errors[0]
    assert peer.recorder.ops().count("iam:GetAccountAuthorizationDetails") == 2  # retried, then given up
    # the credential report still names every user
    names = {i["name"] for i in res.json()["identities"]}
    assert set(account.users) <= names


def test_ci_mode_has_no_progress_output(live: tuple[Any, list[str], str]) -> None:
    _, _, stderr = live
    assert [ln for ln in stderr.splitlines() if ln.strip()] == [
        ln for ln in stderr.splitlines() if ln.startswith("nhiscan: warning:")
    ]


def test_permissions_document_is_read_only() -> None:
    for action in GRANTED:
        _, _, op = action.partition(":")
        assert op.startswith(("List", "Get", "Generate", "Describe")) or action in READ_ONLY_EXTRA, action
