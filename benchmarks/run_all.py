"""Run every benchmark in this folder, one after the other, with its default figures.

    python benchmarks/run_all.py [--only NAME ...] [--quick]

Each benchmark is a script here (a module docstring says what it measures and how it fails);
this runs them as fresh processes with the repository on PYTHONPATH, streams their output, and
ends with a table of exit codes and wall times. --quick passes each script smaller sizes, for a
smoke run. Figures are only comparable within one run: quote ratios, not absolute times.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

# Smaller sizes for a smoke run (--quick); the defaults are the figures the issues ask for.
QUICK: dict[str, list[str]] = {
    "assume_bench": ["--size", "5000", "--rounds", "2"],
    "aws_scale": ["--sizes", "500,5000"],
    "aws_live_bench": ["--users", "100", "--roles", "100", "--accounts", "5"],
    "azure_live_bench": ["--quick"],
    "cloud_exports": ["--n", "500"],
    "diff_bench": ["--sizes", "500,2000", "--runs", "1"],
    "history_bench": ["--commits", "2000", "--files", "300", "--rounds", "1"],
    "hostile_bench": ["--line-sizes", "100,400", "--limit", "30"],
    "graph_bench": ["--size", "5000"],
    "gcp_live_bench": ["--accounts", "100", "--projects", "4", "--project-accounts", "20"],
    "k8s_live_bench": ["--sizes", "100,1000"],
    "secrets_bench": ["--size-mb", "4", "--commits", "300"],
    "scale": ["--sizes", "1000,5000", "--sharded", "10000", "--shards", "5"],
    "scale_work": ["--sizes", "2000,10000", "--shards", "5"],
    "signals_bench": ["--size-mb", "8"],
    "startup": ["--runs", "5"],
}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", nargs="*", default=None, help="benchmark names (file stems) to run")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    args = parser.parse_args()
    scripts = sorted(p for p in HERE.glob("*.py") if p.stem != "run_all" and not p.stem.startswith("_"))
    if args.only:
        scripts = [p for p in scripts if p.stem in args.only]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    results: list[tuple[str, int, float]] = []
    for script in scripts:
        extra = QUICK.get(script.stem, []) if args.quick else []
        print(f"\n=== {script.stem} {' '.join(extra)}".rstrip(), flush=True)
        start = time.perf_counter()
        code = subprocess.call([sys.executable, str(script), *extra], cwd=ROOT, env=env)
        results.append((script.stem, code, time.perf_counter() - start))
    print("\n=== summary")
    for name, code, seconds in results:
        print(f"{name:<24} {'ok' if code == 0 else f'FAILED (exit {code})':<18} {seconds:8.1f} s")
    return 0 if all(code == 0 for _, code, _ in results) else 1


if __name__ == "__main__":
    sys.exit(main())
