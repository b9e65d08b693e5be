"""Live Azure collection figures against the HTTPS Graph + ARM peer used by the tests (127.0.0.1), one command:

    PYTHONPATH=. python benchmarks/azure_live_bench.py [--sizes 100,1000] [--subscriptions 10]
                                                       [--latency-ms 100] [--quick]

1. Requests for a tenant of N service principals (each with an app registration and one role
   assignment, in one subscription), for each N in --sizes, counted per endpoint on the server:
   Graph grows with pages of 999 objects (ceil(N / 999) per collection), ARM role assignments with
   pages of --arm-page (the peer's page size), role definitions stay at one (the single role the
   normalizer cannot name offline), whatever N is. Also the collection's wall time, no added latency.
2. --subscriptions subscriptions of 20 assignments each, every ARM request delayed --latency-ms in
   the server (a round trip to ARM), collected through ``collect_all`` with nhiscan's default pool
   (8 subscriptions at a time), then one subscription at a time: wall times and their ratio, measured
   in the same run (quote the ratio, not the absolute times).

--quick: sizes 100,300 and 4 subscriptions, for a smoke run. Exit 1 if a count differs from the
formula above or any request the server received was not a GET.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from nhiscan.sources.azure.live import GRAPH_PAGE_SIZE, SUBSCRIPTION_WORKERS, collect_all, make_clients
from tests.azure_live.peer import FakeAzure, fake_azure


def counts(peer: FakeAzure, size: int) -> tuple[dict[str, int], float]:
    peer.reset()
    peer.arm_page = ARM_PAGE
    subs = peer.synthetic_tenant(size, subscriptions=1)
    clients = make_clients(peer.env(), verify=peer.ca_path)
    try:
        started = time.perf_counter()
        out = collect_all(clients, subs)
        elapsed = time.perf_counter() - started
    finally:
        clients.close()
    assert not out.errors, out.errors
    assert sum(len(d.data) for d in out.docs if d.kind == "azure-sp-list") == size
    return dict(peer.count()), elapsed


def timed(peer: FakeAzure, subs: list[str], workers: int) -> float:
    clients = make_clients(peer.env(), verify=peer.ca_path)
    try:
        started = time.perf_counter()
        out = collect_all(clients, subs, workers=workers)
        elapsed = time.perf_counter() - started
    finally:
        clients.close()
    assert not out.errors, out.errors
    assert len([d for d in out.docs if d.kind == "azure-role-assignments"]) == len(subs)
    return elapsed


ARM_PAGE = 100


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="100,1000", help="service principals per tenant, comma-separated")
    parser.add_argument("--subscriptions", type=int, default=10)
    parser.add_argument("--latency-ms", type=float, default=100.0, help="added to every ARM request")
    parser.add_argument("--quick", action="store_true", help="sizes 100,300 and 4 subscriptions")
    args = parser.parse_args()
    if args.quick:
        args.sizes, args.subscriptions = "100,300", 4
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    failed = False
    with tempfile.TemporaryDirectory() as tmp, fake_azure(Path(tmp)) as peer:
        print(
            f"1. requests per tenant size (Graph $top={GRAPH_PAGE_SIZE}, ARM page {ARM_PAGE}, 1 subscription)"
        )
        print(
            f"   {'SPs':>6} {'servicePrincipals':>18} {'applications':>13} {'roleAssignments':>16} "
            f"{'roleDefinitions':>16} {'diagnostics':>12} {'total':>6} {'wall s':>7}"
        )
        for size in sizes:
            got, elapsed = counts(peer, size)
            graph_pages = math.ceil(size / GRAPH_PAGE_SIZE)
            want = {
                "servicePrincipals": graph_pages,
                "applications": graph_pages,
                "roleAssignments": max(1, math.ceil(size / ARM_PAGE)),
                "roleDefinitions": 1,
                "diagnosticSettings": 1,
                "aadiamDiagnosticSettings": 1,
            }
            ok = got == want and set(peer.methods()) == {"GET"}
            failed |= not ok
            print(
                f"   {size:>6} {got.get('servicePrincipals', 0):>18} {got.get('applications', 0):>13} "
                f"{got.get('roleAssignments', 0):>16} {got.get('roleDefinitions', 0):>16} "
                f"{got.get('diagnosticSettings', 0) + got.get('aadiamDiagnosticSettings', 0):>12} "
                f"{sum(got.values()):>6} {elapsed:>7.2f}" + ("" if ok else f"   MISMATCH, expected {want}")
            )

        peer.reset()
        subs = peer.synthetic_tenant(20 * args.subscriptions, subscriptions=args.subscriptions)
        peer.arm_latency = args.latency_ms / 1000
        print(f"\n2. {args.subscriptions} subscriptions, {args.latency_ms:.0f} ms added per ARM request")
        pooled = timed(peer, subs, SUBSCRIPTION_WORKERS)
        arm_requests = sum(
            peer.count()[k]
            for k in ("roleAssignments", "roleDefinitions", "diagnosticSettings", "aadiamDiagnosticSettings")
        )
        with peer._lock:
            peer.calls.clear()
        serial = timed(peer, subs, 1)
        failed |= set(peer.methods()) != {"GET"}
        print(f"   pool of {SUBSCRIPTION_WORKERS}: {pooled:6.2f} s   ({arm_requests} ARM requests)")
        print(f"   one at a time: {serial:6.2f} s")
        print(f"   ratio: {serial / pooled:.1f}x faster with the pool")
    if failed:
        print("FAILED: a request count differs from the formula, or a request was not a GET")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
