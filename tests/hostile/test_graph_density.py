"""Denial of service through the escalation graph: an export where every identity may assume any
role and every role trusts the account (or every principal) would make one edge per pair, quadratic
in the export's size. The graph keeps a bounded number of edges per identity, so the scan ends in
time and still reports every identity and the paths to admin."""

from __future__ import annotations

import json
from pathlib import Path

from tests.hostile.harness import hostile_scan

ACCT = "123456789012"
N = 1500


def _doc(statement: dict[str, object]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def _export() -> dict[str, object]:
    assume_any = {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}
    users = [
        {
            "Path": "/service/",
            "UserName": f"svc-{i}",
            "UserId": f"AIDA{i:017d}",
            "Arn": f"arn:aws:iam::{ACCT}:user/service/svc-{i}",
            "CreateDate": "2025-01-01T00:00:00Z",
            "UserPolicyList": [{"PolicyName": "assume", "PolicyDocument": json.loads(_doc(assume_any))}],
            "GroupList": [],
            "AttachedManagedPolicies": [],
            "Tags": [{"Key": "purpose", "Value": "automation"}],
        }
        for i in range(N)
    ]
    trust = {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCT}:root"}, "Action": "sts:AssumeRole"}
    roles = [
        {
            "Path": "/",
            "RoleName": f"role-{i}",
            "RoleId": f"AROA{i:017d}",
            "Arn": f"arn:aws:iam::{ACCT}:role/role-{i}",
            "CreateDate": "2025-01-01T00:00:00Z",
            "AssumeRolePolicyDocument": json.loads(_doc(trust)),
            "InstanceProfileList": [],
            "RolePolicyList": [],
            "AttachedManagedPolicies": (
                [
                    {
                        "PolicyName": "AdministratorAccess",
                        "PolicyArn": "arn:aws:iam::aws:policy/AdministratorAccess",
                    }
                ]
                if i == N - 1
                else []
            ),
            "Tags": [],
        }
        for i in range(N)
    ]
    return {"UserDetailList": users, "GroupDetailList": [], "RoleDetailList": roles, "Policies": []}


def test_every_identity_may_assume_every_role_and_the_scan_ends(tmp_path: Path) -> None:
    export = tmp_path / "gaad.json"
    export.write_text(json.dumps(_export()), "utf-8")
    res = hostile_scan(tmp_path, "--input", str(export), "--fail-on", "none", expect_code=0, timeout=120)
    ids = {i["id"] for i in res.result["identities"]}
    assert f"arn:aws:iam::{ACCT}:user/service/svc-0" in ids and len(ids) >= 2 * N
    # the one admin role is among the most privileged targets every user keeps: all reach admin
    reach = {i["id"]: i["reachable_privilege"] for i in res.result["identities"]}
    assert all(reach[f"arn:aws:iam::{ACCT}:user/service/svc-{i}"] == "admin" for i in range(0, N, 97))
