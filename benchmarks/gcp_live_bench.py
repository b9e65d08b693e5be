"""Live GCP collection figures against the in-process gRPC peer used by the tests (127.0.0.1), one command:

    PYTHONPATH=. python benchmarks/gcp_live_bench.py [--accounts 1000] [--projects 10]
                                                     [--project-accounts 50] [--latency-ms 20]

1. RPCs for one project of --accounts service accounts (page size 100), counted per method on the
   server, next to the same for a tenth of that size: ListServiceAccounts grows with pages
   (ceil(N / 100)), ListServiceAccountKeys with accounts (the IAM API has no bulk key call),
   GetIamPolicy stays at one. Also the collection's wall time with no added latency.
2. --projects projects of --project-accounts accounts each, every RPC delayed --latency-ms in the
   server (a network round trip to Google), collected through ``collect_projects`` with nhiscan's
   defaults (8 projects at a time, 8 key calls at a time per project), then one project at a time
   (same key pool), then fully sequential: wall times and ratios.

Exit 1 if a count differs from ceil(N / 100) + N + 1 + 3 (the effective organization policies) or any received RPC is not a List/Get call.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from nhiscan.sources.gcp.live import (
    CALLS,
    KEY_CONSTRAINTS,
    KEY_WORKERS,
    PROJECT_WORKERS,
    ProjectCollector,
    collect_projects,
    make_clients,
)
from tests.gcp_live.peer import FakeGcp, fake_gcp


def rpc_counts(peer: FakeGcp, accounts: int) -> tuple[dict[str, int], float]:
    peer.reset()
    peer.synthetic_project("bench-project", accounts)
    clients = make_clients(peer.env())
    try:
        started = time.perf_counter()
        result = ProjectCollector(clients, "bench-project").run()
        elapsed = time.perf_counter() - started
    finally:
        clients.close()
    assert not result.errors, result.errors
    return dict(peer.count()), elapsed


def timed(peer: FakeGcp, projects: list[str], project_workers: int, key_workers: int) -> float:
    clients = make_clients(peer.env())
    try:
        started = time.perf_counter()
        results = collect_projects(
            clients,
            projects,
            project_workers=project_workers,
            collector=lambda c, p: ProjectCollector(c, p, key_workers=key_workers),
        )
        elapsed = time.perf_counter() - started
    finally:
        clients.close()
    assert all(not r.errors and len(r.docs) == 4 for r in results)
    return elapsed


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--accounts", type=int, default=1000)
    ap.add_argument("--projects", type=int, default=10)
    ap.add_argument("--project-accounts", type=int, default=50)
    ap.add_argument("--latency-ms", type=float, default=20.0)
    args = ap.parse_args()
    ok = True

    with fake_gcp(max_workers=256) as peer:
        print("1. RPCs for one project (page size 100), counted on the server")
        print(
            f"   {'accounts':>8}  {'ListServiceAccounts':>19}  {'ListServiceAccountKeys':>22}  "
            f"{'GetIamPolicy':>12}  {'total':>6}  {'expected':>8}  {'wall (no latency)':>17}"
        )
        for n in (max(1, args.accounts // 10), args.accounts):
            counts, elapsed = rpc_counts(peer, n)
            total = sum(counts.values())
            expected = math.ceil(n / 100) + n + 1 + len(KEY_CONSTRAINTS)
            ok &= total == expected and counts.get("ListServiceAccounts") == math.ceil(n / 100)
            print(
                f"   {n:>8}  {counts.get('ListServiceAccounts', 0):>19}  "
                f"{counts.get('ListServiceAccountKeys', 0):>22}  {counts.get('GetIamPolicy', 0):>12}  "
                f"{total:>6}  {expected:>8}  {elapsed:>16.2f}s"
            )
        ok &= set(peer.methods()) <= set(CALLS)

        peer.reset()
        names = [f"bench-{n:02d}" for n in range(args.projects)]
        for name in names:
            peer.synthetic_project(name, args.project_accounts)
        peer.latency = args.latency_ms / 1000
        per_project = (
            math.ceil(args.project_accounts / 100) + args.project_accounts + 1 + len(KEY_CONSTRAINTS)
        )
        print(
            f"\n2. {args.projects} projects x {args.project_accounts} accounts ({per_project} RPCs each), "
            f"{args.latency_ms:g} ms added per RPC"
        )
        concurrent = timed(peer, names, PROJECT_WORKERS, KEY_WORKERS)
        sequential = timed(peer, names, 1, KEY_WORKERS)
        serial = timed(peer, names, 1, 1)
        print(f"   concurrent ({PROJECT_WORKERS} projects x {KEY_WORKERS} key calls): {concurrent:7.2f} s")
        print(
            f"   projects one at a time ({KEY_WORKERS} key calls):       {sequential:7.2f} s   "
            f"ratio {sequential / concurrent:5.1f}x"
        )
        print(
            f"   fully sequential (1 x 1):                      {serial:7.2f} s   ratio {serial / concurrent:5.1f}x"
        )
        methods = peer.methods()
        writes = sorted({m for m in methods if not m.rsplit("/", 1)[-1].startswith(("List", "Get"))})
        ok &= not writes and set(methods) <= set(CALLS)
        print(
            f"\n   RPC methods received: {sorted({m.rsplit('/', 1)[-1] for m in methods})}; non-read calls: {writes or 'none'}"
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
