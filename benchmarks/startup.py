"""Startup cost: `nhiscan --version` against `python -c "import typer"` on the same machine.

Usage: python benchmarks/startup.py [--runs N]
Prints the median wall time of each and the ratio (the target is <= 3x). Both run as fresh
processes, interleaved, so machine noise affects both alike.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path


def wall(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    exe = Path(sys.executable).parent / "nhiscan"
    nhiscan = str(exe) if exe.exists() else shutil.which("nhiscan") or "nhiscan"
    ours, base = [], []
    for _ in range(args.runs):
        ours.append(wall([nhiscan, "--version"]))
        base.append(wall([sys.executable, "-c", "import typer"]))
    o, b = statistics.median(ours), statistics.median(base)
    print(f"nhiscan --version      median {o * 1000:7.1f} ms over {args.runs} runs")
    print(f'python -c "import typer" median {b * 1000:7.1f} ms over {args.runs} runs')
    print(f"ratio {o / b:.2f}x (target <= 3x)")


if __name__ == "__main__":
    main()
