"""`nhiscan diff` on large results: is it linear, and what does it cost next to re-reading a result?

Usage: python benchmarks/diff_bench.py [--sizes 2000,20000] [--runs 3]
For each size N, writes a GCP project export of N service accounts with one user-managed key each
(benchmarks/cloud_exports.py), scans it twice as JSON (`--as-of 2025-02-01`: keys a month old;
`--as-of 2026-11-01`: every key too old, so NEW has about N more findings), and times, through the
console script and side by side, in CPU seconds of the process (best of --runs):

- `nhiscan report NEW.json --format json`: read one result, write it (the reference);
- `nhiscan diff OLD.json NEW.json --format json` and `--format markdown`.

Prints the ratio diff / report per size and how the diff's time grows from the smallest size to the
largest, next to the growth in findings. Fails (exit 1) when the diff's time grows more than 1.5
times faster than the findings do (not linear), or a command fails.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cloud_exports import gcp


def nhiscan() -> str:
    exe = Path(sys.executable).parent / "nhiscan"
    return str(exe) if exe.exists() else (shutil.which("nhiscan") or "nhiscan")


def timed(args: list[str], runs: int, ok: tuple[int, ...] = (0,)) -> float:
    """Best CPU time (user + system) of the command over ``runs`` runs: on a shared machine, wall
    time measures the neighbours as much as nhiscan."""
    best = float("inf")
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        proc = subprocess.run([nhiscan(), *args], capture_output=True, stdin=subprocess.DEVNULL)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if proc.returncode not in ok:
            raise SystemExit(
                f"nhiscan {' '.join(args)}: exit {proc.returncode}: {proc.stderr.decode()[-500:]}"
            )
        best = min(best, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime))
    return best


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="2000,20000")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            d = Path(tmp) / str(n)
            d.mkdir()
            inputs = gcp(d, n)
            old, new = d / "old.json", d / "new.json"
            for as_of, out in (("2025-02-01", old), ("2026-11-01", new)):
                scan = ["scan", *inputs, "--as-of", as_of, "--fail-on", "none", "-f", "json", "-o", str(out)]
                timed(scan, 1)
            findings = len(json.loads(new.read_text())["findings"])
            new_findings = findings - len(json.loads(old.read_text())["findings"])
            report = timed(["report", str(new), "-f", "json", "-o", str(d / "r.json")], args.runs)
            diff_json = timed(
                ["diff", str(old), str(new), "-f", "json", "-o", str(d / "d.json"), "--fail-on", "none"],
                args.runs,
            )
            diff_md = timed(
                ["diff", str(old), str(new), "-f", "markdown", "-o", str(d / "d.md"), "--fail-on", "none"],
                args.runs,
            )
            summary = json.loads((d / "d.json").read_text())["summary"]
            rows.append((n, findings, summary["new"], new_findings, report, diff_json, diff_md))
    print(f"CPU seconds per command (user + system), best of {args.runs}")
    print(
        f"{'N':>7} {'findings':>9} {'new':>7} {'report':>9} {'diff json':>10} {'diff md':>9} {'diff/report':>12}"
    )
    for n, findings, new_count, _expected, report, dj, dm in rows:
        print(
            f"{n:>7} {findings:>9} {new_count:>7} {report:>8.2f}s {dj:>9.2f}s {dm:>8.2f}s {dj / report:>11.2f}x"
        )
    bad = [r for r in rows if r[2] != r[3]]
    if bad:
        print(f"FAIL: the diff's new findings differ from the difference in findings: {bad}")
        return 1
    if len(rows) > 1:
        first, last = rows[0], rows[-1]
        grow_findings = last[1] / first[1]
        grow_diff = last[5] / first[5]
        print(f"from N={first[0]} to N={last[0]}: findings x{grow_findings:.1f}, diff time x{grow_diff:.1f}")
        if grow_diff > 1.5 * grow_findings:
            print("FAIL: the diff's time grows faster than its input")
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
