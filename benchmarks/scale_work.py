"""Organization scale, counted in work instead of seconds: function calls from 100,000 to a million.

    python benchmarks/scale_work.py [--keep K] [--sizes 100000,1000000] [--shards 20] [--jobs 2]

CPU seconds (benchmarks/scale.py) measure the code and the machine together: the same scan's
time moves by 10% between runs here, and every memory access costs more when the working set is
5 GB than when it is 0.5 GB. This benchmark measures the code alone. For each size it scans the
merged shard inventories that ``scale.py --sharded SIZES --keep K`` leaves in K (generating them
with scale.py first when they are missing; without --keep, in a temporary directory removed
after) once under cProfile, in a child process, and counts
the function calls (Python functions and the C functions they call: the work the scan asks for,
whatever each call costs on the machine). It prints the growth of the total from the smallest
size to each larger one, and the functions whose calls grew most beyond the identities; it fails
(exit 1) when the total grew more than the identities did.

cProfile slows the scan about 2.5x (about 10 minutes for the million); counts do not depend on
the machine or its load, so one run is enough and the figures are exact.
"""

from __future__ import annotations

import argparse
import pstats
import re
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent

SCAN = ["scan", "--format", "json", "--as-of", "2026-11-01", "--fail-on", "none"]


def profile(inventories: Path, out: Path, stats: Path) -> pstats.Stats:
    """``nhiscan scan --input inventories`` under cProfile, in a child process."""
    args = [*SCAN, "--output", str(out), "--input", str(inventories)]
    cmd = [sys.executable, "-m", "cProfile", "-o", str(stats), "-m", "nhiscan", *args]
    done = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if done.returncode not in (0, 1) or not stats.exists():
        raise SystemExit(f"nhiscan scan --input {inventories} failed: {done.stderr.decode()[-400:]}")
    return pstats.Stats(str(stats))


def calls(st: pstats.Stats) -> dict[tuple[str, int, str], int]:
    """Calls per function; C functions named without the address their type has in this process."""
    raw: dict[tuple[str, int, str], tuple[int, int, float, float, object]] = st.stats  # type: ignore[attr-defined]
    out: dict[tuple[str, int, str], int] = {}
    for (path, line, name), value in raw.items():
        key = (path, line, re.sub(r" at 0x[0-9a-f]+", "", name))
        out[key] = out.get(key, 0) + value[1]
    return out


def where(key: tuple[str, int, str]) -> str:
    path, line, name = key
    return name if path == "~" else f"{path.split('nhiscan/', 1)[-1]}:{line} {name}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--keep", help="scale.py's --keep directory (inventories-SIZE/); default: made and removed"
    )
    ap.add_argument("--sizes", default="100000,1000000")
    ap.add_argument("--shards", type=int, default=20)
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--top", type=int, default=12, help="functions listed whose calls grew most")
    args = ap.parse_args()
    if args.keep:
        return measure(args, Path(args.keep))
    with tempfile.TemporaryDirectory(prefix="nhiscan-work-inventories-") as keep:
        return measure(args, Path(keep))


def measure(args: argparse.Namespace, keep: Path) -> int:
    sizes = sorted(int(s) for s in args.sizes.split(",") if s)
    missing = [n for n in sizes if len(list((keep / f"inventories-{n}").glob("*.json"))) != args.shards]
    if missing:  # the shard inventories scale.py writes, made by it (its scans are the price)
        sharded = ["--sharded", ",".join(map(str, missing)), "--shards", str(args.shards)]
        rest = ["--jobs", str(args.jobs), "--keep", str(keep), "--reuse"]
        subprocess.run([sys.executable, str(HERE / "scale.py"), "--sizes", "", *sharded, *rest], check=True)
    counted: list[tuple[int, dict[tuple[str, int, str], int], int]] = []
    with tempfile.TemporaryDirectory(prefix="nhiscan-work-") as tmp:
        for n in sizes:
            st = profile(keep / f"inventories-{n}", Path(tmp) / f"result-{n}.json", Path(tmp) / f"{n}.prof")
            per = calls(st)
            total = sum(per.values())
            counted.append((n, per, total))
            print(
                f"{n:>9,} identities, {args.shards} inventories merged: {total:,} function calls", flush=True
            )
    ok = True
    small_n, small, small_total = counted[0]
    for n, per, total in counted[1:]:
        grow = n / small_n
        ratio = total / small_total
        ok = ok and ratio <= grow
        print(
            f"{small_n:,} -> {n:,}: {grow:.1f}x the identities -> {ratio:.3f}x the function calls"
            f"{'' if ratio <= grow else '  (worse than linear)'}"
        )
        excess = sorted(per, key=lambda k: per[k] - grow * small.get(k, 0), reverse=True)
        print(f"  calls grown most beyond {grow:.0f}x (calls at {small_n:,} -> {n:,}):")
        for key in excess[: args.top]:
            before, after = small.get(key, 0), per[key]
            if after <= grow * before:
                break
            print(f"    {before:>12,} -> {after:>13,}  {after / max(before, 1):7.2f}x  {where(key)}")
    if not ok:
        print("FAIL: the function calls grew faster than the identities", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
