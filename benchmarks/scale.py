"""Organization scale: CPU time, wall time and peak memory from 10,000 to 1,000,000 identities.

    python benchmarks/scale.py [--sizes 10000,100000] [--before main] [--sharded 100000,1000000]
                               [--shards 20] [--repeat 1] [--jobs 1] [--keep DIR [--reuse]]

For each size, generates one AWS account's exports (benchmarks/aws_scale.py: users, roles, groups,
managed and inline policies, boundaries, trust policies, a credential report) and times
`nhiscan scan --format json --output FILE` in a child process: CPU seconds (user + system), wall
seconds and peak RSS (the child's rusage from os.wait4). With --before REF the same scan runs with
the code of git REF (exported to a temporary directory and put first on PYTHONPATH), side by side
in the same run.

--sharded N[,M...] generates, for each size, an organization of --shards accounts of N / shards
identities each (roles trusting each other across accounts), collects each account into its own
inventory (`nhiscan inventory`, the shards a fan-out would write) and times the merged
`nhiscan scan --input DIR`: how one machine copes with a million identities. --jobs J generates
and collects J accounts at a time (as a fan-out would); scans always run alone.

Prints one line per run, then the growth from the smallest run to the largest (the issue's figure:
one account of 100,000 against a million merged from shards), and from the smallest merged run to
each larger one (same shape: the accounts stay, the identities grow). Fails (exit 1) when the CPU
time or the peak memory grows more than the identities do (10x for 10x, no slack). Noise: CPU time
decides, not wall time, because other load on a shared machine stretches wall time far more than
it moves a process's own CPU seconds (about 10% between identical runs on a loaded 2-core
machine, against 50% and more for wall time); --repeat R runs every scan R times and keeps each
one's fastest, since noise only ever adds time, going round all the scans in turn so that a drift
in the machine's speed (seen here: 20.1 and then 24.7 CPU s for the same scan, an hour apart)
weighs on every size alike. Figures are comparable only within one run: quote ratios. Each run's
user time, system time and page faults are shown apart; at the end, what a page of fresh memory
costs the kernel on this machine (a VM's host may back guest memory only when first touched).
--keep DIR --reuse scans the shard inventories a previous run left in DIR instead of generating
them again.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
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


@dataclass(frozen=True)
class Run:
    """One nhiscan run as the kernel accounted it (os.wait4): wall seconds, CPU seconds (user +
    system), peak RSS in MiB, the system part of the CPU seconds, and minor page faults (each a
    fresh page of memory the process touched: the kernel work nhiscan asks for, whatever a page
    costs on the machine)."""

    wall: float
    cpu: float
    rss: float
    system: float
    faults: int

    @property
    def user(self) -> float:
        return self.cpu - self.system


def timed(args: list[str], pythonpath: str | None) -> Run:
    """One nhiscan run in a child process: CPU is the child's user + system time from os.wait4,
    which other load on a shared machine barely moves; the system part (page faults, writing the
    result) and the page faults are shown apart."""
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
    cpu = usage.ru_utime + usage.ru_stime
    return Run(wall, cpu, usage.ru_maxrss / 1024, usage.ru_stime, usage.ru_minflt)


def scan_args(inputs: list[Path], out: Path) -> list[str]:
    args = ["scan", "--format", "json", "--as-of", "2026-11-01", "--fail-on", "none", "--output", str(out)]
    for p in inputs:
        args += ["--input", str(p)]
    return args


def best(runs: list[Run]) -> Run:
    """The run of least CPU time (noise on a shared machine only adds time), with the fastest
    wall time and the largest peak RSS of them all."""
    least = min(runs, key=lambda r: r.cpu)
    return replace(least, wall=min(r.wall for r in runs), rss=max(r.rss for r in runs))


def collect_shards(base: Path, size: int, shards: int, jobs: int) -> None:
    """An organization of ``shards`` accounts of ``size / shards`` identities (roles trusting each
    other across accounts), each collected into its own inventory, ``jobs`` at a time."""
    per = size // shards
    org = base / f"org-{size}"
    inventories = base / f"inventories-{size}"
    inventories.mkdir(exist_ok=True)
    start = time.perf_counter()
    with ThreadPoolExecutor(jobs) as pool:
        # generate_estate's accounts, each in a child of its own, --jobs at a time
        ids = [f"{100000000000 + 7919 * k:012d}" for k in range(shards)]
        calls = [
            f"generate({per}, Path({str(org / a)!r}), seed={7 + k}, account={a!r}, peers={tuple(ids)!r})"
            for k, a in enumerate(ids)
        ]
        accounts = [org / a for a in ids]
        list(pool.map(generate_apart, calls))
        collects = [
            ["inventory", "--input", str(acct), "--as-of", "2026-11-01", "--output", str(out)]
            for acct in accounts
            if (out := inventories / f"{acct.name}.json")
        ]
        collected = pool.map(lambda cmd: timed(cmd, None), collects)
        worst = max(run.rss for run in collected)
    print(
        f"    this {shards} accounts of {per:,} identities generated and collected into "
        f"inventories ({jobs} at a time): {time.perf_counter() - start:.1f} s in all, "
        f"peak RSS of one {worst:.1f} MiB",
        flush=True,
    )


@dataclass(frozen=True)
class Row:
    label: str  # "this" or the --before ref
    shape: str  # "one account" or "N inventories merged"
    n: int  # identities
    run: Run


def report(row: Row) -> None:
    r = row.run
    print(
        f"{row.label:>8} {row.n:>9,} identities  {row.shape:<28} wall {r.wall:7.1f} s  CPU {r.cpu:7.1f} s "
        f"(user {r.user:6.1f} s, system {r.system:5.1f} s)  peak RSS {r.rss:8.1f} MiB  "
        f"{r.faults:>10,} page faults",
        flush=True,
    )


def growth(small: Row, large: Row) -> bool:
    """Print how ``large`` grew from ``small``; whether time (CPU) and memory grew at most as the
    identities did. The user time, the system time and the page faults are shown apart: the
    page faults count the kernel's work, the system time is what each fault cost on this machine
    (on a VM, a page its host has not backed yet costs several times more than one it has)."""
    a, b = small.run, large.run
    grow = large.n / small.n
    cpu, wall, mem = b.cpu / a.cpu, b.wall / a.wall, b.rss / a.rss
    ok = cpu <= grow and mem <= grow
    print(
        f"{small.label:>8}: {small.n:,} ({small.shape}) -> {large.n:,} ({large.shape}): {grow:.1f}x the identities "
        f"-> {cpu:.2f}x the CPU time (user {b.user / a.user:.2f}x, system {b.system / max(a.system, 0.01):.1f}x, "
        f"page faults {b.faults / max(a.faults, 1):.2f}x), {wall:.2f}x the wall time, {mem:.2f}x the peak memory"
        f"{'' if ok else '  (worse than linear)'}"
    )
    return ok


TOUCH = """
import mmap, resource, sys
size = int(sys.argv[1]) << 20
before = resource.getrusage(resource.RUSAGE_SELF)
m = mmap.mmap(-1, size)
for off in range(0, size, mmap.PAGESIZE):
    m[off] = 1
after = resource.getrusage(resource.RUSAGE_SELF)
print(after.ru_stime - before.ru_stime, after.ru_minflt - before.ru_minflt)
"""


def fresh_memory(mib: int) -> None:
    """What a page of fresh memory costs the kernel on this machine: a new process touches
    ``mib`` MiB, then another does the same at once. On a VM whose host backs guest memory
    lazily (and takes back what the guest frees), the first pass can cost several times the
    second: the system time of a large run depends on it, not only on the pages it touches."""
    costs = []
    for _ in range(2):
        out = subprocess.run(
            [sys.executable, "-c", TOUCH, str(mib)], capture_output=True, text=True, check=True
        )
        system, faults = out.stdout.split()
        costs.append(float(system) / max(int(faults), 1) * 1e6)
    print(
        f"fresh memory on this machine: {mib:,} MiB touched by a new process, {costs[0]:.1f} us of system "
        f"time per page; by another at once, {costs[1]:.1f} us per page"
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="10000,100000")
    ap.add_argument("--before", help="a git ref to time side by side (e.g. main)")
    ap.add_argument(
        "--sharded", default="", help="identities of sharded organization runs (comma-separated sizes)"
    )
    ap.add_argument("--shards", type=int, default=20)
    ap.add_argument(
        "--repeat", type=int, default=1, help="rounds of every scan in turn; each scan's fastest counts"
    )
    ap.add_argument("--jobs", type=int, default=1, help="shard accounts generated and collected at once")
    ap.add_argument("--keep", help="keep the generated exports here")
    ap.add_argument(
        "--reuse", action="store_true", help="with --keep: scan the shard inventories already there"
    )
    args = ap.parse_args()
    base = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="nhiscan-scale-"))
    base.mkdir(parents=True, exist_ok=True)
    before_dir = None
    rows: list[Row] = []
    try:
        if args.before:
            before_dir = tempfile.mkdtemp(prefix="nhiscan-before-")
            archive = subprocess.run(
                ["git", "-C", str(ROOT), "archive", args.before], capture_output=True, check=True
            )
            subprocess.run(["tar", "-x", "-C", before_dir], input=archive.stdout, check=True)
        labels = [("this", None)] + ([(args.before, before_dir)] if args.before else [])
        # (label, shape, identities, scan arguments, PYTHONPATH) of every scan, generated first
        plans: list[tuple[str, str, int, list[str], str | None]] = []
        for n in [int(s) for s in args.sizes.split(",") if s]:
            exports = generate_apart(f"generate({n}, Path({str(base / f'account-{n}')!r}))")
            for label, path in labels:
                plans.append(
                    (label, "one account", n, scan_args(exports, base / f"result-{n}-{label}.json"), path)
                )
        for size in [int(s) for s in args.sharded.split(",") if s]:
            per = size // args.shards
            inventories = base / f"inventories-{size}"
            if not (args.reuse and len(list(inventories.glob("*.json"))) == args.shards):
                collect_shards(base, size, args.shards, args.jobs)
            shape = f"{args.shards} inventories merged"
            for label, path in labels:
                out = base / f"result-merged-{size}-{label}.json"
                plans.append((label, shape, per * args.shards, scan_args([inventories], out), path))
        # Repeats go round every scan in turn, not one scan R times then the next: a drift in the
        # machine's speed during the run (other guests of its host) then weighs on every size alike.
        runs: list[list[Run]] = [[] for _ in plans]
        for round_ in range(max(1, args.repeat)):
            for k, (label, shape, n, scan, path) in enumerate(plans):
                runs[k].append(timed(scan, path))
                if args.repeat > 1:
                    print(f"  round {round_ + 1}:", end="")
                    report(Row(label, shape, n, runs[k][-1]))
        for (label, shape, n, _, _), mine in zip(plans, runs, strict=True):
            rows.append(Row(label, shape, n, best(mine)))
            report(rows[-1])
    finally:
        if before_dir:
            shutil.rmtree(before_dir, ignore_errors=True)
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
    ok = True
    for label, _ in labels:
        mine = sorted((r for r in rows if r.label == label), key=lambda r: (r.n, r.shape != "one account"))
        if len(mine) < 2:
            continue
        # the smallest run against the largest (the figure: one account of 100,000 against a
        # million merged from shards), and each merged size against the smallest merged one (the
        # same shape: identities grow, accounts stay)
        pairs = [(mine[0], mine[-1])]
        merged = [r for r in mine if r.shape != "one account"]
        pairs += [(merged[0], r) for r in merged[1:] if (merged[0], r) not in pairs]
        for small, large in pairs:
            if not growth(small, large) and label == "this":
                ok = False
    for shape, n in sorted({(r.shape, r.n) for r in rows}):
        pair = {r.label: r.run for r in rows if (r.shape, r.n) == (shape, n)}
        if args.before and "this" in pair and args.before in pair:
            b, a = pair[args.before], pair["this"]
            print(
                f"{n:>9,} identities ({shape}): {b.cpu / a.cpu:.2f}x less CPU time, {b.wall / a.wall:.2f}x less "
                f"wall time, {b.rss / a.rss:.2f}x less memory than {args.before}"
            )
    if rows and max(r.run.rss for r in rows) >= 1024:
        fresh_memory(int(max(r.run.rss for r in rows)))
    if not ok:
        print(
            "FAIL: worse than linear (CPU time or peak memory grew faster than the identities)",
            file=sys.stderr,
        )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
