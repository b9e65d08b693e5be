"""How ``edges_aws.edges`` grows with the inventory: ``python -m tests.graph.aws_cost [N ...]``.

A synthetic account of N identities shaped like a large estate: most roles hold ordinary
application policies (no escalation action), one identity in 50 holds a scoped escalation
(PassRole on its team's roles plus a compute action, CreatePolicyVersion on its team's
policies), one in 500 a wildcard one (PassRole and CreateAccessKey on ``*``), and a few admins.
Prints identities, edges and CPU seconds per size, and the time ratio between sizes (linear: the size
ratio; quadratic: its square).
"""

from __future__ import annotations

import itertools
import sys
import time
from datetime import datetime, timezone

from nhiscan.analyze.graph import edges_aws
from nhiscan.model import Grant, Identity, Inventory, Trust

AS_OF = datetime(2026, 11, 1, tzinfo=timezone.utc)
ACCT = "111122223333"
EC2 = (Trust("Service", "ec2.amazonaws.com", ("sts:AssumeRole",)),)
LAMBDA = (Trust("Service", "lambda.amazonaws.com", ("sts:AssumeRole",)),)


def _grant(actions: tuple[str, ...], resources: tuple[str, ...] = ("*",), via: str = "inline:p") -> Grant:
    return Grant(actions=actions, resources=resources, via=via)


def estate(n: int) -> Inventory:
    out = []
    app = (_grant(("s3:GetObject", "s3:PutObject"), ("arn:aws:s3:::data/*",)), _grant(("sqs:SendMessage",)))
    for i in range(n):
        team = f"team{i // 100:05}"  # teams of 100 roles, however large the estate
        name = f"{team}-svc-{i}"
        arn = f"arn:aws:iam::{ACCT}:role/{name}"
        grants: tuple[Grant, ...] = app
        if i % 50 == 0:
            grants = (
                *app,
                _grant(("iam:PassRole",), (f"arn:aws:iam::{ACCT}:role/{team}-*",)),
                _grant(("ec2:RunInstances", "lambda:CreateFunction", "lambda:InvokeFunction")),
                _grant(("iam:CreatePolicyVersion",), (f"arn:aws:iam::{ACCT}:policy/{team}-*",)),
            )
        if i % 500 == 0:
            grants = (*grants, _grant(("iam:PassRole", "iam:CreateAccessKey", "ec2:RunInstances")))
        if i % 5000 == 1:
            grants = (_grant(("*",)),)
        out.append(
            Identity(
                arn,
                "aws",
                "aws-iam-role",
                name,
                ACCT,
                grants=grants,
                trusts=EC2 if i % 3 else LAMBDA,
                attributes={"instance_profiles": [name]},
            )
        )
        if i % 10 == 0:
            uname = f"{team}-ci-{i}"
            out.append(
                Identity(f"arn:aws:iam::{ACCT}:user/{uname}", "aws", "aws-iam-user", uname, ACCT, grants=app)
            )
    return Inventory(identities=tuple(out))


def measure(n: int) -> tuple[int, int, float]:
    inv = estate(n)
    start = time.process_time()
    count = sum(1 for _ in edges_aws.edges(inv, AS_OF))
    return len(inv.identities), count, time.process_time() - start


def main(sizes: list[int]) -> None:
    results = [measure(n) for n in sizes]
    for (ids, count, secs), n in zip(results, sizes, strict=True):
        print(f"N={n}: {ids} identities, {count} edges, {secs:.2f} s CPU")
    for (a, _, ta), (b, _, tb) in itertools.pairwise(results):
        print(f"{b / a:.1f}x identities: {tb / ta:.1f}x time")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [10_000, 40_000])
