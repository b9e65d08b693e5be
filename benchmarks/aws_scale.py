"""AWS scale benchmark: does a scan of a large account stay linear?

    python benchmarks/aws_scale.py [--sizes 5000,50000] [--keep DIR]

Generates, into a temporary directory, a GAAD export and a credential report for accounts of
5,000 and 50,000 identities (about 60% IAM users, 40% roles, with groups, customer managed
policies, AWS managed policy references, permissions boundaries, per-identity inline policies,
trust policies and one or two access keys per machine user), then runs the installed
``nhiscan scan --input ... --format json`` on each in a child process and prints its wall time,
its peak memory (the child's max RSS from os.wait4) and the time ratio between the sizes.
A linear analysis gives a ratio close to the size ratio (10x); the benchmark fails (exit 1) above 12x.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ACCOUNT = "123456789012"
AWS = "arn:aws:iam::aws:policy/"
MANAGED = [
    "ReadOnlyAccess",
    "AmazonS3ReadOnlyAccess",
    "CloudWatchReadOnlyAccess",
    "AmazonSQSFullAccess",
    "AmazonDynamoDBReadOnlyAccess",
    "AWSLambda_FullAccess",
    "AmazonSSMFullAccess",
    "AdministratorAccess",
]
SERVICES = ["ec2.amazonaws.com", "lambda.amazonaws.com", "ecs-tasks.amazonaws.com", "glue.amazonaws.com"]
COLS = [
    "user",
    "arn",
    "user_creation_time",
    "password_enabled",
    "password_last_used",
    "password_last_changed",
    "password_next_rotation",
    "mfa_active",
    "access_key_1_active",
    "access_key_1_last_rotated",
    "access_key_1_last_used_date",
    "access_key_1_last_used_region",
    "access_key_1_last_used_service",
    "access_key_2_active",
    "access_key_2_last_rotated",
    "access_key_2_last_used_date",
    "access_key_2_last_used_region",
    "access_key_2_last_used_service",
    "cert_1_active",
    "cert_1_last_rotated",
    "cert_2_active",
    "cert_2_last_rotated",
]


def _doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def _date(rng: random.Random) -> str:
    return f"20{rng.randint(21, 26)}-{rng.randint(1, 10):02d}-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:00:00+00:00"


def generate(
    n: int, out: Path, seed: int = 7, account: str = ACCOUNT, peers: tuple[str, ...] = ()
) -> list[Path]:
    """A GAAD export and a credential report of one account with ``n`` identities in ``out``; every
    tenth role trusts another account: one of ``peers`` (an organization's), else an outside one."""
    rng = random.Random(seed)
    n_users = n * 6 // 10
    n_roles = n - n_users
    groups = []
    for g in range(max(10, n // 500)):
        groups.append(
            {
                "Path": "/",
                "GroupName": f"group-{g}",
                "GroupId": f"AGPA{g:017d}",
                "Arn": f"arn:aws:iam::{account}:group/group-{g}",
                "CreateDate": "2021-01-01T00:00:00Z",
                "GroupPolicyList": [
                    {
                        "PolicyName": "team",
                        "PolicyDocument": _doc(
                            {
                                "Effect": "Allow",
                                "Action": ["s3:GetObject", "s3:PutObject"],
                                "Resource": f"arn:aws:s3:::team-{g}/*",
                            }
                        ),
                    }
                ],
                "AttachedManagedPolicies": [
                    {"PolicyName": MANAGED[g % 4], "PolicyArn": AWS + MANAGED[g % 4]}
                ],
            }
        )
    policies = []
    for p in range(max(20, n // 250)):
        policies.append(
            {
                "PolicyName": f"app-{p}",
                "PolicyId": f"ANPA{p:017d}",
                "Arn": f"arn:aws:iam::{account}:policy/app-{p}",
                "Path": "/",
                "DefaultVersionId": "v1",
                "AttachmentCount": 1,
                "IsAttachable": True,
                "CreateDate": "2022-01-01 00:00:00+00:00",
                "UpdateDate": "2022-01-01 00:00:00+00:00",
                "PolicyVersionList": [
                    {
                        "VersionId": "v1",
                        "IsDefaultVersion": True,
                        "CreateDate": "2022-01-01T00:00:00Z",
                        "Document": _doc(
                            {
                                "Effect": "Allow",
                                "Action": ["sqs:SendMessage", "sqs:ReceiveMessage"],
                                "Resource": f"arn:aws:sqs:us-east-1:{account}:app-{p}-*",
                            },
                            *(
                                [{"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*"}]
                                if p % 7 == 0
                                else []
                            ),
                        ),
                    }
                ],
            }
        )
    users, rows = [], []
    for i in range(n_users):
        machine = i % 3 != 0
        name = f"svc-app-{i}" if machine else f"person.{i}"
        arn = f"arn:aws:iam::{account}:user/{name}"
        inline = []
        if i % 3 == 1:
            inline.append(
                {
                    "PolicyName": "own-bucket",
                    "PolicyDocument": _doc(
                        {
                            "Effect": "Allow",
                            "Action": ["s3:*"],
                            "Resource": [f"arn:aws:s3:::bucket-{i}", f"arn:aws:s3:::bucket-{i}/*"],
                        }
                    ),
                }
            )
        attached = [
            {"PolicyName": f"app-{i % len(policies)}", "PolicyArn": policies[i % len(policies)]["Arn"]}
        ]
        if i % 50 == 0:
            attached.append(
                {"PolicyName": MANAGED[i % len(MANAGED)], "PolicyArn": AWS + MANAGED[i % len(MANAGED)]}
            )
        user: dict[str, Any] = {
            "Path": "/service/" if machine else "/",
            "UserName": name,
            "UserId": f"AIDA{i:017d}",
            "Arn": arn.replace("user/", "user/service/") if machine else arn,
            "CreateDate": "2021-03-04 05:06:07+00:00",
            "UserPolicyList": inline,
            "GroupList": [groups[i % len(groups)]["GroupName"]],
            "AttachedManagedPolicies": attached,
            "Tags": [{"Key": "owner", "Value": f"team-{i % 40}"}] if i % 5 else [],
        }
        if i % 10 == 0:
            user["PermissionsBoundary"] = {
                "PermissionsBoundaryType": "Policy",
                "PermissionsBoundaryArn": policies[0]["Arn"],
            }
        users.append(user)
        row = dict.fromkeys(COLS, "N/A")
        row.update(
            user=name,
            arn=user["Arn"],
            user_creation_time="2021-03-04T05:06:07+00:00",
            password_enabled="false" if machine else "true",
            mfa_active="false" if machine else "true",
            access_key_1_active="false",
            access_key_2_active="false",
            cert_1_active="false",
            cert_2_active="false",
        )
        if not machine:
            row.update(password_last_used=_date(rng), password_last_changed="2021-03-04T05:06:07+00:00")
        for k in range(1 + (i % 7 == 0) if machine else 0):
            row.update(
                {
                    f"access_key_{k + 1}_active": "true",
                    f"access_key_{k + 1}_last_rotated": _date(rng),
                    f"access_key_{k + 1}_last_used_date": _date(rng) if rng.random() < 0.8 else "N/A",
                    f"access_key_{k + 1}_last_used_region": "us-east-1",
                    f"access_key_{k + 1}_last_used_service": "s3",
                }
            )
        rows.append(row)
    roles = []
    for r in range(n_roles):
        if r % 10 == 0:
            trust = _doc(
                {
                    "Effect": "Allow",
                    "Principal": {
                        "AWS": f"arn:aws:iam::{peers[r % len(peers)] if peers else 210987654321 + r % 13}:root"
                    },
                    "Action": "sts:AssumeRole",
                }
            )
        else:
            trust = _doc(
                {
                    "Effect": "Allow",
                    "Principal": {"Service": SERVICES[r % len(SERVICES)]},
                    "Action": "sts:AssumeRole",
                }
            )
        roles.append(
            {
                "Path": "/",
                "RoleName": f"role-{r}",
                "RoleId": f"AROA{r:017d}",
                "Arn": f"arn:aws:iam::{account}:role/role-{r}",
                "CreateDate": "2022-05-06T07:08:09Z",
                "AssumeRolePolicyDocument": trust,
                "InstanceProfileList": [],
                "RolePolicyList": [
                    {
                        "PolicyName": "data",
                        "PolicyDocument": _doc(
                            {
                                "Effect": "Allow",
                                "Action": ["dynamodb:GetItem", "dynamodb:PutItem"],
                                "Resource": f"arn:aws:dynamodb:us-east-1:{account}:table/t-{r}",
                            }
                        ),
                    }
                ],
                "AttachedManagedPolicies": [
                    {"PolicyName": MANAGED[r % len(MANAGED)], "PolicyArn": AWS + MANAGED[r % len(MANAGED)]}
                ],
                "Tags": [{"Key": "team", "Value": f"team-{r % 40}"}],
                "RoleLastUsed": {"LastUsedDate": _date(rng), "Region": "us-east-1"} if r % 4 else {},
            }
        )
    out.mkdir(parents=True, exist_ok=True)
    gaad = out / "gaad.json"
    gaad.write_text(
        json.dumps(
            {
                "UserDetailList": users,
                "GroupDetailList": groups,
                "RoleDetailList": roles,
                "Policies": policies,
                "IsTruncated": False,
            }
        )
    )
    report = out / "credential-report.csv"
    with report.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=COLS, lineterminator="\n")
        w.writeheader()
        w.writerow(
            {
                **dict.fromkeys(COLS, "N/A"),
                "user": "<root_account>",
                "arn": f"arn:aws:iam::{account}:root",
                "user_creation_time": "2019-01-01T00:00:00+00:00",
                "password_enabled": "not_supported",
                "mfa_active": "true",
                "access_key_1_active": "false",
                "access_key_2_active": "false",
                "cert_1_active": "false",
                "cert_2_active": "false",
            }
        )
        w.writerows(rows)
    return [gaad, report]


def generate_estate(accounts: int, per_account: int, out: Path, seed: int = 7) -> list[Path]:
    """An organization: ``accounts`` accounts of ``per_account`` identities each, one directory of
    exports per account (``out/<account id>/``), roles trusting each other across accounts."""
    ids = tuple(f"{100000000000 + 7919 * k:012d}" for k in range(accounts))
    dirs = []
    for k, account in enumerate(ids):
        generate(per_account, out / account, seed=seed + k, account=account, peers=ids)
        dirs.append(out / account)
    return dirs


def nhiscan_exe() -> str:
    candidate = Path(sys.executable).parent / "nhiscan"
    return str(candidate) if candidate.exists() else (shutil.which("nhiscan") or "nhiscan")


def run_scan(files: list[Path], out: Path) -> tuple[float, float, int, dict[str, Any]]:
    """(wall seconds, peak RSS MiB of the child, exit code, summary) of one scan."""
    args = [nhiscan_exe(), "scan", "--format", "json", "--as-of", "2026-11-01", "--output", str(out)]
    for f in files:
        args += ["--input", str(f)]
    start = time.perf_counter()
    proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    proc.returncode = code
    err = proc.stderr.read().decode() if proc.stderr else ""
    if code not in (0, 1):
        raise SystemExit(f"nhiscan failed with exit {code}: {err.strip()}")
    rss_mib = usage.ru_maxrss / 1024  # kilobytes on Linux
    summary = json.loads(out.read_text())["summary"]
    return wall, rss_mib, code, summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="5000,50000")
    parser.add_argument("--keep", help="write the generated exports here instead of a temporary directory")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    base = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="nhiscan-aws-scale-"))
    results = {}
    try:
        for n in sizes:
            t0 = time.perf_counter()
            files = generate(n, base / str(n))
            gen = time.perf_counter() - t0
            mb = sum(f.stat().st_size for f in files) / 1e6
            wall, rss, code, summary = run_scan(files, base / f"result-{n}.json")
            results[n] = wall
            print(
                f"{n:>6} identities  exports {mb:6.1f} MB (generated in {gen:4.1f} s)  scan {wall:6.2f} s  "
                f"peak RSS {rss:7.1f} MiB  exit {code}  identities {summary['identities']}  "
                f"findings {sum(summary['findings'].values())}",
                flush=True,
            )
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
    if len(sizes) >= 2:
        lo, hi = sizes[0], sizes[-1]
        ratio = results[hi] / results[lo]
        print(f"time ratio {hi}/{lo}: {ratio:.1f}x for {hi / lo:.0f}x the identities")
        if ratio > 1.2 * hi / lo:
            print("FAIL: worse than linear", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
