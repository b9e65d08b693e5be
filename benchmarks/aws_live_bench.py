"""Live AWS collection figures against moto in server mode (127.0.0.1), one command:

    PYTHONPATH=. python benchmarks/aws_live_bench.py [--users 1000 --roles 1000] [--accounts 20]
                                                     [--latency-ms 20]

1. API calls per operation for an account of --users IAM users and --roles roles (10% of users with
   an access key, 2% with a console password), next to the same for a tenth of that size: the bulk
   calls must not grow with identities; the per-user ones (ListAccessKeys for users with keys,
   ListSSHPublicKeys for every user: IAM has no bulk call for them) grow with those users only.
   Every call is counted on the wire by the recording moto wrapper used in the tests.
2. An organization of --accounts accounts (management + members, each with a role and a few machine
   users) collected through ``collect_organization`` with a pool of 8 and with a pool of 1 (sequential)
   in this process: wall times and their ratio, once with moto's bare answers (CPU-bound, client and
   server share this process and its GIL) and with each --latency-ms added per request in the server,
   the shape of a real network round trip to AWS (IAM answers in tens to hundreds of ms).

Exit 1 if a bulk call's count grows with identities or any recorded call is not read-only.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.aws_live.conftest import build_org
from tests.aws_live.moto_peer import MotoPeer, moto_peer

PER_USER = {
    "iam:ListAccessKeys": "users the credential report shows with an access key",
    "iam:ListSSHPublicKeys": "every user (no bulk call, no credential report column)",
    "iam:ListSigningCertificates": "users the report shows with a signing certificate",
    "iam:ListMFADevices": "users with MFA but no virtual device (hardware/FIDO)",
    "iam:GetOpenIDConnectProvider": "each OIDC provider (no bulk call returns its URL and audiences)",
    # only with --aws-last-accessed, which moto does not serve (so these rows do not appear here)
    "iam:GenerateServiceLastAccessedDetails": "every non-human user and role (one job each; no bulk call)",
    "iam:GetServiceLastAccessedDetails": "every non-human user and role, once per polling round and page",
}
READ_ONLY = ("List", "Get", "Generate", "Describe")


def build_big_account(peer: MotoPeer, users: int, roles: int) -> None:
    iam = peer.client("iam")
    trust = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}'

    def make_user(n: int) -> None:
        name = f"svc-{n:05d}"
        iam.create_user(UserName=name, Path="/svc/")
        if n % 10 == 0:
            iam.create_access_key(UserName=name)
        if n % 50 == 0:
            iam.create_login_profile(UserName=name, Password="Bench-Passw0rd!xyz")

    def make_role(n: int) -> None:
        iam.create_role(RoleName=f"role-{n:05d}", AssumeRolePolicyDocument=trust)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(make_user, range(users)))
        list(pool.map(make_role, range(roles)))


def collect_account(peer: MotoPeer) -> tuple[Counter[str], float, int]:
    from nhiscan.sources.aws.live import AccountCollector, caller_identity, make_session

    peer.recorder.reset()
    start = time.perf_counter()
    session = make_session(None)
    _, caller = caller_identity(session)
    result = AccountCollector(session, caller.account_id, QuietFeedback()).run()
    elapsed = time.perf_counter() - start
    assert not result.errors, result.errors
    gaad = next(d.data for d in result.docs if d.kind == "aws-gaad")
    return peer.recorder.counts(), elapsed, len(gaad["UserDetailList"]) + len(gaad["RoleDetailList"])


def check_read_only(counts: Counter[str]) -> list[str]:
    return [
        op
        for op in counts
        if op not in ("sts:AssumeRole", "sts:GetCallerIdentity")
        and not op.split(":")[1].startswith(READ_ONLY)
    ]


def account_figures(peer: MotoPeer, users: int, roles: int) -> bool:
    rows: list[tuple[str, Counter[str], float, int]] = []
    for u, r in ((users // 10, roles // 10), (users, roles)):
        peer.reset()
        t0 = time.perf_counter()
        build_big_account(peer, u, r)
        print(f"  built {u} users + {r} roles in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
        counts, elapsed, identities = collect_account(peer)
        rows.append((f"{u}u+{r}r", counts, elapsed, identities))
    small, big = rows
    ops = sorted(set(small[1]) | set(big[1]))
    print("\n## API calls per operation (moto; GAAD answered in one page by moto)\n")
    print(f"| operation | {small[0]} | {big[0]} | grows with |")
    print("|---|---:|---:|---|")
    ok = True
    for op in ops:
        a, b = small[1].get(op, 0), big[1].get(op, 0)
        why = PER_USER.get(op, "pages only (bulk call)")
        if op not in PER_USER and b > a:
            ok = False
            why += "  <-- GREW"
        print(f"| {op} | {a} | {b} | {why} |")
    print(f"| **all calls** | {sum(small[1].values())} | {sum(big[1].values())} | |")
    print(f"| identities / collection time | {small[3]} / {small[2]:.2f} s | {big[3]} / {big[2]:.2f} s | |")
    bad = check_read_only(small[1] + big[1])
    if bad:
        print(f"NOT READ-ONLY: {bad}")
        ok = False
    return ok


class QuietFeedback:
    """No progress; warnings counted instead of printed (moto lacks ListServiceSpecificCredentials)."""

    def __new__(cls) -> Any:
        from nhiscan.sources.aws.live import Feedback

        class _Quiet(Feedback):
            warnings = 0

            def warn(self, source: str, message: str) -> None:
                type(self).warnings += 1

        return _Quiet(False)


def org_figures(peer: MotoPeer, accounts: int, latencies_ms: list[float]) -> None:
    from nhiscan.sources.aws.live import caller_identity, make_session
    from nhiscan.sources.aws.org import collect_organization

    peer.reset()
    org = build_org(peer, members=accounts - 1, role="NhiscanAudit", users_per_account=20)
    print(f"\n## Organization of {accounts} accounts ({len(org.members)} members via AssumeRole)\n")
    # warm-up: first-use imports and model loading are not part of either figure
    session = make_session(None)
    sts, caller = caller_identity(session)
    collect_organization(session, sts, caller, "NhiscanAudit", QuietFeedback(), workers=8)
    print("| per-request latency | pool 8 | pool 1 (sequential) | speed-up | calls |")
    print("|---|---:|---:|---:|---:|")
    for latency in [ms / 1000 for ms in latencies_ms]:
        times: dict[int, float] = {}
        calls = 0
        for workers in (8, 1):
            peer.recorder.calls.clear()
            peer.recorder.latency = latency
            session = make_session(None)
            sts, caller = caller_identity(session)
            start = time.perf_counter()
            docs, errors = collect_organization(
                session, sts, caller, "NhiscanAudit", QuietFeedback(), workers=workers
            )
            times[workers] = time.perf_counter() - start
            assert not errors, errors
            assert len({d.scope for d in docs}) == accounts
            calls = len(peer.recorder.calls)
            bad = check_read_only(peer.recorder.counts())
            assert not bad, bad
        peer.recorder.latency = 0.0
        print(
            f"| {latency * 1000:.0f} ms | {times[8]:.2f} s | {times[1]:.2f} s | "
            f"{times[1] / times[8]:.1f}x | {calls} |"
        )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--users", type=int, default=1000)
    ap.add_argument("--roles", type=int, default=1000)
    ap.add_argument("--accounts", type=int, default=20)
    ap.add_argument(
        "--latency-ms", default="0,20,100", help="per-request latencies to try, comma-separated (ms)"
    )
    ap.add_argument("--skip-account", action="store_true", help="only the organization figures")
    args = ap.parse_args()
    with moto_peer() as peer:
        os.environ.update(peer.env())
        os.environ["AWS_MAX_ATTEMPTS"] = "10"
        ok = True if args.skip_account else account_figures(peer, args.users, args.roles)
        org_figures(peer, args.accounts, [float(x) for x in args.latency_ms.split(",")])
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
