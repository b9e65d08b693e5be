"""Role-assumption edges (analyze/graph/edges_aws_assume.py): this tree against another commit's.

    python benchmarks/assume_bench.py [--size 50000] [--ref REF] [--wild] [--rounds 5] [--repeat 3]

Generates graph_bench.py's account (``--wild``: every ``sts:AssumeRole`` Allow of a user also names
role patterns, ``role/role-7*`` and ``role/role-13?``, next to its exact role, with a Deny on a
pattern, and one hop role in ten names a ``?``/``*`` pattern too), and in fresh processes, one tree
after the other, reads it and times ``edges_aws_assume.edges`` alone: CPU seconds
(``time.process_time``; the machines are shared), the best of ``--repeat`` calls in each process,
the median over ``--rounds`` processes of each tree. REF's tree is extracted with ``git archive``
(as same_findings.py does) and put first on PYTHONPATH. Prints both medians, their ratio and whether
the two trees' edges (source, target, kind, via, path, conditions) are the same; exit 1 when they
differ or this tree is slower than ``--max-ratio`` (default 1.10) times REF. Without ``--ref`` it
times this tree alone.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from same_findings import extract

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

PROBE = r"""
import hashlib, sys, time
from datetime import datetime, timezone
from nhiscan.analyze import aws_policy
from nhiscan.analyze.graph import edges_aws_assume
from nhiscan.config import InputSpec, ScanConfig
from nhiscan.core import collect_inventory

as_of = datetime(2026, 11, 1, tzinfo=timezone.utc)
cfg = ScanConfig(as_of=as_of, inputs=tuple(InputSpec.parse(p) for p in sys.argv[2:]))
inv, errors = collect_inventory(cfg)
assert not errors, errors
best = float("inf")
for _ in range(int(sys.argv[1])):
    aws_policy._compiled.cache_clear()  # every call compiles what it needs, as a scan does
    start = time.process_time()
    got = list(edges_aws_assume.edges(inv, as_of))
    best = min(best, time.process_time() - start)
rows = [(e.source, e.target, e.kind, e.via, e.path, e.conditional, e.condition) for e in got]
print(best, len(rows), hashlib.sha256(repr(rows).encode()).hexdigest())
"""


def wild(gaad: Path) -> None:
    """Wildcard Resource lists on top of graph_bench's export (see the docstring)."""
    doc: dict[str, Any] = json.loads(gaad.read_text())
    account = doc["RoleDetailList"][0]["Arn"].split(":")[4]
    role = f"arn:aws:iam::{account}:role/"
    for i, user in enumerate(doc["UserDetailList"]):
        for policy in user["UserPolicyList"]:
            if policy["PolicyName"] != "assume":
                continue
            statements = policy["PolicyDocument"]["Statement"]
            statements[0]["Resource"] = [
                f"{role}role-{i % 97}*",
                f"{role}role-{(i * 4) % 20000}",
                f"{role}role-1{i % 7}?",
            ]
            statements.append(
                {"Effect": "Deny", "Action": "sts:AssumeRole", "Resource": [f"{role}role-{i % 89}5*"]}
            )
    for k, r in enumerate(doc["RoleDetailList"]):
        for policy in r["RolePolicyList"]:
            if policy["PolicyName"] == "hop" and k % 10 == 0:
                statement = policy["PolicyDocument"]["Statement"][0]
                statement["Resource"] = [statement["Resource"], f"{role}role-{k % 13}?{k % 7}*"]
    gaad.write_text(json.dumps(doc))


def probe(package_root: Path, repeat: int, files: list[Path]) -> tuple[float, str]:
    env = {**os.environ, "PYTHONPATH": str(package_root)}
    out = subprocess.run(
        [sys.executable, "-c", PROBE, str(repeat), *map(str, files)],
        env=env,
        cwd=tempfile.gettempdir(),
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return float(out[0]), f"{out[1]} edges, sha256 {out[2][:16]}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=50_000)
    parser.add_argument("--ref", help="the commit to compare with (git archive)")
    parser.add_argument("--wild", action="store_true", help="wildcard Resource lists (see above)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--max-ratio", type=float, default=1.10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="nhiscan-assume-bench-") as tmp:
        base = Path(tmp)
        data = base / "data"
        subprocess.run(
            [
                sys.executable,
                str(HERE / "graph_bench.py"),
                "--size",
                str(args.size),
                "--generate-only",
                str(data),
            ],
            check=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        if args.wild:
            wild(data / "gaad.json")
        files = [data / "gaad.json", data / "credential-report.csv"]
        trees = {"this tree": ROOT}
        if args.ref:
            if not extract(args.ref, base):
                print(f"no git or no commit {args.ref}: timing this tree alone")
            else:
                trees = {args.ref: base / "tree", "this tree": ROOT}
        times: dict[str, list[float]] = {name: [] for name in trees}
        edges: dict[str, str] = {}
        for _ in range(args.rounds):
            for name, root in trees.items():
                cpu, what = probe(root, args.repeat, files)
                times[name].append(cpu)
                edges[name] = what
        median = {name: statistics.median(t) for name, t in times.items()}
        label = f"{args.size} identities{' (wild)' if args.wild else ''}"
        for name in trees:
            print(f"{label}  {name:>12}  assume-role edges {median[name]:6.3f} s CPU  {edges[name]}")
        if len(trees) == 1:
            return 0
        ratio = median["this tree"] / median[args.ref]
        same = edges["this tree"] == edges[args.ref]
        print(
            f"this tree / {args.ref}: {ratio:.3f}x CPU (median of {args.rounds} processes each, best of "
            f"{args.repeat} calls); edges {'identical' if same else 'DIFFER'}"
        )
        return 0 if same and ratio <= args.max_ratio else 1


if __name__ == "__main__":
    raise SystemExit(main())
