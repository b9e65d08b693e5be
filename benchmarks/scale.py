"""Organization scale: wall time and peak memory from 10,000 to 1,000,000 identities.

    python benchmarks/scale.py [--sizes 10000,100000] [--before main] [--sharded 1000000]
                               [--shards 20] [--keep DIR]

For each size, generates one AWS account's exports (benchmarks/aws_scale.py: users, roles, groups,
managed and inline policies, boundaries, trust policies, a credential report) and times
`nhiscan scan --format json --output FILE` in a child process: wall seconds and peak RSS (the
child's ru_maxrss from os.wait4). With --before REF the same scan runs with the code of git REF
(exported to a temporary directory and put first on PYTHONPATH), side by side in the same run.

--sharded N generates an organization of --shards accounts of N / shards identities each, collects
each account into its own inventory (`nhiscan inventory`, the shards a fan-out would write) and
times the merged `nhiscan scan --input DIR`: how one machine copes with a million identities.

Prints one line per run and the growth from the smallest to the largest size (time and memory
per identity); fails (exit 1) when time or memory grows more than 1.3x faster than identities.
Figures are comparable only within one run: quote ratios.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from aws_scale import nhiscan_exe  # noqa: E402


def generate_apart(call: str) -> list[Path]:
    """The generator run in a child process: a parent that built a million records stays large,
    and the scans it forks would count its pages in their peak RSS."""
    code = f"import sys; sys.path.insert(0, {str(HERE)!r}); from pathlib import Path; import aws_scale; "
    code += f"print('\\n'.join(map(str, aws_scale.{call})))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return [Path(p) for p in out.split()]


def timed(args: list[str], pythonpath: str | None) -> tuple[float, float]:
    """(wall seconds, peak RSS MiB) of one nhiscan run in a child process."""
    env = dict(os.environ)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    start = time.perf_counter()
    proc = subprocess.Popen(
        [nhiscan_exe(), *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode() if proc.stderr else ""
    if code not in (0, 1):
        raise SystemExit(f"nhiscan {' '.join(args[:1])} failed with exit {code}: {err.strip()[:400]}")
    return wall, usage.ru_maxrss / 1024


def scan_args(inputs: list[Path], out: Path) -> list[str]:
    args = ["scan", "--format", "json", "--as-of", "2026-11-01", "--fail-on", "none", "--output", str(out)]
    for p in inputs:
        args += ["--input", str(p)]
    return args


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="10000,100000")
    ap.add_argument("--before", help="a git ref to time side by side (e.g. main)")
    ap.add_argument("--sharded", type=int, default=0, help="identities of a sharded organization run")
    ap.add_argument("--shards", type=int, default=20)
    ap.add_argument("--keep", help="keep the generated exports here")
    args = ap.parse_args()
    base = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="nhiscan-scale-"))
    base.mkdir(parents=True, exist_ok=True)
    before_dir = None
    rows: list[tuple[str, int, float, float]] = []
    try:
        if args.before:
            before_dir = tempfile.mkdtemp(prefix="nhiscan-before-")
            archive = subprocess.run(
                ["git", "-C", str(ROOT), "archive", args.before], capture_output=True, check=True
            )
            subprocess.run(["tar", "-x", "-C", before_dir], input=archive.stdout, check=True)
        for n in [int(s) for s in args.sizes.split(",") if s]:
            exports = generate_apart(f"generate({n}, Path({str(base / f'account-{n}')!r}))")
            for label, path in (("this", None), (args.before, before_dir)):
                if label is None:
                    continue
                wall, rss = timed(scan_args(exports, base / f"result-{n}-{label}.json"), path)
                rows.append((label, n, wall, rss))
                print(
                    f"{label:>8} {n:>9,} identities  scan {wall:7.1f} s  peak RSS {rss:8.1f} MiB", flush=True
                )
        if args.sharded:
            per = args.sharded // args.shards
            org = base / f"org-{args.sharded}"
            accounts = generate_apart(f"generate_estate({args.shards}, {per}, Path({str(org)!r}))")
            inventories = base / f"inventories-{args.sharded}"
            inventories.mkdir(exist_ok=True)
            start = time.perf_counter()
            worst = 0.0
            for acct in accounts:
                out = inventories / f"{acct.name}.json"
                _, rss = timed(
                    ["inventory", "--input", str(acct), "--as-of", "2026-11-01", "--output", str(out)], None
                )
                worst = max(worst, rss)
            collect = time.perf_counter() - start
            print(
                f"    this {args.shards} inventories of {per:,} identities: {collect:.1f} s in all, "
                f"peak RSS of one {worst:.1f} MiB",
                flush=True,
            )
            n = per * args.shards
            wall, rss = timed(scan_args([inventories], base / f"result-merged-{n}.json"), None)
            rows.append(("this", n + args.shards, wall, rss))
            print(
                f"    this {n:>9,} identities  merged scan of {args.shards} inventories {wall:7.1f} s  "
                f"peak RSS {rss:8.1f} MiB",
                flush=True,
            )
    finally:
        if before_dir:
            shutil.rmtree(before_dir, ignore_errors=True)
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
    ok = True
    for label in dict.fromkeys(r[0] for r in rows):
        mine = sorted((n, wall, rss) for lab, n, wall, rss in rows if lab == label)
        if len(mine) < 2:
            continue
        (n0, w0, r0), (n1, w1, r1) = mine[0], mine[-1]
        grow = n1 / n0
        print(
            f"{label:>8}: {grow:.0f}x the identities -> {w1 / w0:.1f}x the time, {r1 / r0:.1f}x the peak memory"
        )
        if label == "this" and (w1 / w0 > 1.3 * grow or r1 / r0 > 1.3 * grow):
            ok = False
    for n in sorted({r[1] for r in rows}):
        pair = {r[0]: r for r in rows if r[1] == n}
        if args.before and "this" in pair and args.before in pair:
            b, a = pair[args.before], pair["this"]
            print(
                f"{n:>9,} identities: {b[2] / a[2]:.1f}x faster, {b[3] / a[3]:.1f}x less memory than {args.before}"
            )
    if not ok:
        print("FAIL: worse than linear", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
