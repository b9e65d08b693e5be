"""Live Kubernetes collection figures against the HTTPS API-server peer used by the tests (127.0.0.1):

    PYTHONPATH=. python benchmarks/k8s_live_bench.py [--sizes 1000,10000] [--latency-ms 0]

For each size N, a synthetic cluster of N service accounts in 20 namespaces with proportional RBAC
(N/2 RoleBindings, N/10 token Secrets, N/100 ClusterRoleBindings, 20 Roles, 10 ClusterRoles) is
collected through ``collect_context`` (nhiscan's defaults: pages of 500, one cluster-wide list per
resource type) and then normalized. Reported: requests per resource type as the server counted them,
the expected count (sum over the six types of max(1, ceil(objects / 500))), collection and
normalization wall times. --latency-ms adds a delay to every request in the server (a network
round trip to a real API server). The client's one-off import cost is measured apart, on an
empty cluster, before the timed runs.

Exit 1 if a request count differs from the expected one (requests must grow with pages, not with
objects), if any request is not a GET, or if an identity is missing.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from nhiscan.config import Settings
from nhiscan.sources.collect import normalize_all
from nhiscan.sources.kubernetes.live import PAGE_LIMIT, RESOURCES, collect_context
from tests.k8s_live.peer import FakeK8s, fake_k8s

SHORT = {
    "serviceaccounts": "sa",
    "secrets": "secret",
    "roles": "role",
    "clusterroles": "crole",
    "rolebindings": "rb",
    "clusterrolebindings": "crb",
}


def one_size(peer: FakeK8s, accounts: int, latency_ms: float, workdir: Path) -> bool:
    peer.reset()
    peer.synthetic(accounts)
    peer.latency = latency_ms / 1000
    objects = {r: len(items) for r, items in peer.objects.items()}
    expected = {r: max(1, math.ceil(n / PAGE_LIMIT)) for r, n in objects.items()}
    kubeconfig = peer.kubeconfig(workdir / "kubeconfig")
    started = time.perf_counter()
    result = collect_context("prod", {"KUBECONFIG": str(kubeconfig)})
    collected = time.perf_counter() - started
    started = time.perf_counter()
    normalized = normalize_all(result.docs, Settings())
    normalizing = time.perf_counter() - started
    counts = peer.count()
    ok = not result.errors and counts == expected and peer.methods() == {"GET"}
    ok &= len(normalized.identities) == accounts
    total_objects = sum(objects.values())
    print(
        f"   {accounts:>7}  {total_objects:>7}  "
        + "  ".join(f"{counts.get(r.name, 0):>6}" for r in RESOURCES)
        + f"  {sum(counts.values()):>5}  {sum(expected.values()):>8}  {collected:>9.2f}s  {normalizing:>8.2f}s"
        + ("" if ok else "   MISMATCH")
    )
    if result.errors:
        print(f"   errors: {result.errors}")
    return ok


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1000,10000", help="service-account counts, comma-separated")
    ap.add_argument("--latency-ms", type=float, default=0.0)
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    ok = True
    import tempfile

    with tempfile.TemporaryDirectory() as tmp, fake_k8s() as peer:
        print(
            f"Requests per resource type (pages of {PAGE_LIMIT}), {args.latency_ms:g} ms added per request\n"
            f"   {'accounts':>7}  {'objects':>7}  "
            + "  ".join(f"{SHORT[r.name]:>6}" for r in RESOURCES)
            + f"  {'total':>5}  {'expected':>8}  {'collect':>10}  {'normalize':>9}"
        )
        # The first collection in a process imports the client's API modules (about a second):
        # pay it on an empty cluster so the figures below are the collection itself.
        started = time.perf_counter()
        warm = collect_context("prod", {"KUBECONFIG": str(peer.kubeconfig(Path(tmp) / "kubeconfig"))})
        ok &= not warm.errors
        print(
            f"   (first collection, empty cluster, importing the client: {time.perf_counter() - started:.2f} s)"
        )
        for n in sizes:
            ok &= one_size(peer, n, args.latency_ms, Path(tmp))
        print(f"\n   HTTP methods received: {sorted(peer.methods())}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
