"""`nhiscan scan --aws-org --aws-role NAME` against a moto organization, through the real CLI."""

from __future__ import annotations

import pytest

from tests.aws_live.conftest import AS_OF, build_account, build_org, nhiscan
from tests.aws_live.moto_peer import Fault, MotoPeer
from tests.aws_live.test_live_cli import assert_read_only

ROLE = "NhiscanAudit"


def test_org_scan_collects_every_account_and_survives_a_failing_one(peer: MotoPeer) -> None:
    build_account(peer.client("iam"))  # the management account's own identities
    org = build_org(peer, members=4, role=ROLE)
    broken = org.members[1]
    peer.recorder.faults.append(
        Fault("sts", "AssumeRole", "AccessDenied", when=lambda form: broken in form.get("RoleArn", [""])[0])
    )
    res = nhiscan(
        peer,
        "scan",
        "--aws-org",
        "--aws-role",
        ROLE,
        "--format",
        "json",
        "--as-of",
        AS_OF,
        "--fail-on",
        "none",
    )
    assert res.code == 2, res.stderr
    errors = [ln for ln in res.stderr.splitlines() if ln.startswith("nhiscan: error:")]
    assert errors == [
        f"nhiscan: error: aws:{broken}: cannot assume arn:aws:iam::{broken}:role/{ROLE}: sts:AssumeRole "
        "denied (AccessDenied): the credentials need the permission sts:AssumeRole (read-only policy: "
        "docs/aws-permissions.json)"
    ], res.stderr
    warnings = [ln for ln in res.stderr.splitlines() if ln.startswith("nhiscan: warning:")]
    assert len(warnings) == 1, res.stderr  # moto lacks one API: one line for all accounts
    assert "(and 3 more accounts): iam:ListServiceSpecificCredentials" in warnings[0]
    result = res.json()
    scopes = {i["scope"] for i in result["identities"]}
    assert scopes == {org.management, *(m for m in org.members if m != broken)}
    for n, acct in enumerate(org.members):
        if acct != broken:
            assert f"arn:aws:iam::{acct}:user/svc/svc-{n}-0" in {i["id"] for i in result["identities"]}
    ops = peer.recorder.ops()
    assert_read_only(ops)
    assert ops.count("organizations:ListAccounts") == 1
    assert ops.count("sts:AssumeRole") == len(org.members)  # the management account uses its own creds
    # each member was read with the role's credentials, i.e. as that account
    iam_accounts = {k for s, _, k in peer.recorder.calls if s == "iam"}
    assert len(iam_accounts) == len(org.members)  # management key + 3 assumed-role keys


@pytest.mark.parametrize("aws_says_not_in_use", [False, True])
def test_org_scan_outside_an_organization_is_one_clear_error(
    peer: MotoPeer, aws_says_not_in_use: bool
) -> None:
    if aws_says_not_in_use:  # what AWS answers; moto lists no account instead
        peer.recorder.faults.append(
            Fault("organizations", "ListAccounts", "AWSOrganizationsNotInUseException", status=400)
        )
    res = nhiscan(peer, "scan", "--aws-org", "--aws-role", ROLE, "--format", "json")
    assert res.code == 2
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert lines == ["nhiscan: error: --aws-org: account 123456789012 is not part of an AWS Organization"]


def test_org_listing_denied_says_where_to_run(peer: MotoPeer) -> None:
    peer.recorder.faults.append(Fault("organizations", "ListAccounts", "AccessDeniedException", status=400))
    res = nhiscan(peer, "scan", "--aws-org", "--aws-role", ROLE, "--format", "json")
    assert res.code == 2
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1
    assert "organizations:ListAccounts denied (AccessDeniedException)" in lines[0]
    assert lines[0].endswith("run from the management account or a delegated administrator")


def test_closed_member_account_is_skipped_with_a_warning(peer: MotoPeer) -> None:
    org = build_org(peer, members=2, role=ROLE, users_per_account=1)
    closed = org.members[0]
    peer.client("organizations").close_account(AccountId=closed)
    res = nhiscan(peer, "scan", "--aws-org", "--aws-role", ROLE, "--format", "json", "--fail-on", "none")
    assert res.code == 0, res.stderr
    assert f"nhiscan: warning: --aws-org: account {closed} (member-0) is SUSPENDED; skipped" in res.stderr
    assert {i["scope"] for i in res.json()["identities"]} == {org.members[1]}
    assert peer.recorder.ops().count("sts:AssumeRole") == 1  # only the active member
