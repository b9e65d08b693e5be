"""Escalation graph benchmark: what the graph adds to a scan of a large account.

    python benchmarks/graph_bench.py [--size 50000] [--runs 1] [--keep DIR]

Generates one account with ``--size`` identities (the synthetic export of benchmarks/aws_scale.py),
then gives it something to find: every fourth role trusts its account, every fourth one trusts the
role before it by ARN (chains of four roles, half of them ending in a role holding
AdministratorAccess), roles assume the next role by exact ARN, one machine user in fifty may assume
the first role of a chain, and one in five thousand may assume any role (``sts:AssumeRole`` on
``*``). It then runs the installed
``nhiscan scan --input ... --format json`` twice side by side in child processes: with the graph
(edge building, the search to admin for every node, reachable privilege, the transitive rule,
scores and the result's paths) and without it (``NHISCAN_GRAPH_DISABLED=1``, a switch only this
benchmark uses: the graph is left empty, everything else runs). It prints wall time, peak RSS
(the child's max RSS from os.wait4), the edges found and both ratios. The target: the graph adds
at most 50% to time and memory; the benchmark fails (exit 1) above it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from aws_scale import ACCOUNT, generate, nhiscan_exe

LIMIT = 1.5


def add_assume_role(gaad: Path) -> None:
    """Role-assumption edges on top of the generator's export (which only has service and
    outside-account trusts): chains role 4m -> 4m+1 -> 4m+2 -> 4m+3, admin when m is odd."""
    doc: dict[str, Any] = json.loads(gaad.read_text())
    roles = doc["RoleDetailList"]
    arn = [r["Arn"] for r in roles]
    for k, r in enumerate(roles):
        stmt = r["AssumeRolePolicyDocument"]["Statement"][0]
        if k % 4 == 1:
            stmt["Principal"] = {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}
        elif k % 4 in (2, 3):
            stmt["Principal"] = {"AWS": arn[k - 1]}
        if k % 4 in (0, 1, 2) and k + 1 < len(roles):
            r["RolePolicyList"].append(
                {
                    "PolicyName": "hop",
                    "PolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": arn[k + 1]}
                        ],
                    },
                }
            )
    for i, u in enumerate(doc["UserDetailList"]):
        if i % 50 == 1:
            target = arn[(i * 4) % len(arn)] if i % 5000 != 1 else "*"
            u["UserPolicyList"].append(
                {
                    "PolicyName": "assume",
                    "PolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": target}],
                    },
                }
            )
    gaad.write_text(json.dumps(doc))


def run(files: list[Path], out: Path, graph: bool) -> tuple[float, float, dict[str, Any]]:
    args = [nhiscan_exe(), "scan", "--format", "json", "--as-of", "2026-11-01", "--fail-on", "none"]
    args += ["--output", str(out)]
    for f in files:
        args += ["--input", str(f)]
    env = dict(os.environ)
    env.pop("NHISCAN_GRAPH_DISABLED", None)
    if not graph:
        env["NHISCAN_GRAPH_DISABLED"] = "1"
    start = time.perf_counter()
    proc = subprocess.Popen(
        args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode() if proc.stderr else ""
    if code != 0:
        raise SystemExit(f"nhiscan failed with exit {code}: {err.strip()}")
    return wall, usage.ru_maxrss / 1024, json.loads(out.read_text())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=1, help="runs of each; the best time and memory count")
    parser.add_argument("--keep", help="write the generated exports here instead of a temporary directory")
    args = parser.parse_args()
    base = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="nhiscan-graph-bench-"))
    try:
        files = generate(args.size, base / str(args.size))
        add_assume_role(files[0])
        best: dict[bool, tuple[float, float]] = {}
        facts: dict[str, Any] = {}
        for _ in range(args.runs):
            for graph in (False, True):  # side by side, in one run
                wall, rss, doc = run(files, base / f"result-{graph}.json", graph)
                old = best.get(graph)
                best[graph] = (min(wall, old[0]), min(rss, old[1])) if old else (wall, rss)
                if graph:
                    idents = doc["identities"]
                    facts = {
                        "reach_admin": sum(
                            1 for i in idents if i["escalation_path"] and i["reachable_privilege"] == "admin"
                        ),
                        "longest": max((len(i["escalation_path"]) for i in idents), default=0),
                        "transitive": sum(
                            1 for f in doc["findings"] if f["rule_id"] == "nhi-transitive-escalation"
                        ),
                    }
        for graph in (False, True):
            wall, rss = best[graph]
            print(
                f"{args.size:>6} identities  {'with graph   ' if graph else 'without graph'}  "
                f"scan {wall:6.2f} s  peak RSS {rss:7.1f} MiB",
                flush=True,
            )
        t = best[True][0] / best[False][0]
        m = best[True][1] / best[False][1]
        print(
            f"identities reaching admin through others: {facts['reach_admin']}, longest path "
            f"{facts['longest']} hops, nhi-transitive-escalation findings: {facts['transitive']}"
        )
        print(f"graph/no-graph ratio: time {t:.2f}x, peak memory {m:.2f}x (target <= {LIMIT:.2f}x)")
        if t > LIMIT or m > LIMIT:
            print("FAIL: the graph adds more than 50%", file=sys.stderr)
            return 1
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
