"""Secret scanning throughput: nhiscan vs `detect-secrets scan --all-files`, same trees, same plugins.

    python benchmarks/secrets_bench.py [--size-mb 24] [--commits 3000]

1. Generates a code/config tree of --size-mb with planted secrets (benchmarks/.work/generated) and
   copies a real open-source tree (an installed package's source, botocore by default).
2. Runs `detect-secrets -c CORES scan --all-files -n -p nhiscan/sources/repo/ds_plugins.py` (its
   own multiprocessing, verification off, nhiscan's extra plugins loaded so both tools run the same
   plugin set) and `nhiscan scan TREE --format json` on each, and prints MB/s, the ratio and both
   finding counts. "missed by nhiscan" counts detect-secrets results (file, secret sha1) that
   nhiscan neither reports nor deliberately suppresses (placeholders, documentation examples,
   public IPs); the suppressed ones are counted separately.
3. Builds a git repository with --commits commits (git fast-import) where secrets are added and
   later removed, and times `nhiscan scan --history`.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import string
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "benchmarks" / ".work"
sys.path.insert(0, str(ROOT))

from tests.repo.corpus import generate, planted_secret  # noqa: E402

BIN = Path(sys.executable).parent


def tree_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file() and ".git" not in p.parts)


def text_bytes(root: Path) -> int:
    """Bytes of the files that are UTF-8 text (what either tool actually reads line by line)."""
    total = 0
    for p in root.rglob("*"):
        if p.is_file() and ".git" not in p.parts:
            data = p.read_bytes()
            try:
                data.decode("utf-8")
            except UnicodeDecodeError:
                continue
            if b"\0" not in data[:8192]:
                total += len(data)
    return total


def git_init(root: Path) -> None:
    if not (root / ".git").exists():
        subprocess.run(["git", "init", "-q", str(root)], check=True)


def run_detect_secrets(root: Path, cores: int) -> tuple[float, set[tuple[str, str]]]:
    plugin = ROOT / "nhiscan" / "sources" / "repo" / "ds_plugins.py"
    cmd = [str(BIN / "detect-secrets"), "-c", str(cores), "scan", "--all-files", "-n", "-p", str(plugin), "."]
    t = time.perf_counter()
    out = subprocess.run(cmd, cwd=root, capture_output=True, text=True, check=True)
    dt = time.perf_counter() - t
    results = json.loads(out.stdout)["results"]
    found = {(fn, e["hashed_secret"]) for fn, entries in results.items() for e in entries}
    return dt, found


def run_nhiscan(root: Path, extra: list[str] | None = None) -> tuple[float, dict]:  # type: ignore[type-arg]
    cmd = [str(BIN / "nhiscan"), "scan", str(root), "--format", "json", "--fail-on", "none", *(extra or [])]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    t = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    dt = time.perf_counter() - t
    if out.returncode not in (0, 1):
        raise SystemExit(f"nhiscan failed: {out.stderr}")
    return dt, json.loads(out.stdout)


def nhiscan_secrets(root: Path) -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
    """(reported, suppressed) as (path, detect-secrets sha1) pairs, from the library (untimed)."""
    from nhiscan.config import ScanConfig
    from nhiscan.sources.repo import scan_paths

    res = scan_paths(ScanConfig(as_of=datetime.now(timezone.utc), paths=(str(root),)), keep_suppressed=True)
    reported, suppressed = set(), set()
    for s in res.secrets:
        for h in s.ds_sha1:  # in memory only: no output holds them
            (suppressed if s.attributes.get("suppressed") else reported).add((s.location.path, h))
    return reported, suppressed


def compare(name: str, root: Path, cores: int) -> dict:  # type: ignore[type-arg]
    size = text_bytes(root)
    files = sum(1 for p in root.rglob("*") if p.is_file() and ".git" not in p.parts)
    print(
        f"\n== {name}: {root} ({tree_bytes(root) / 1e6:.1f} MB on disk, {size / 1e6:.1f} MB of text, {files} files)",
        flush=True,
    )
    ds_time, ds_found = run_detect_secrets(root, cores)
    nh_time, result = run_nhiscan(root)
    reported, suppressed = nhiscan_secrets(root)
    missed = ds_found - reported - suppressed
    mb = size / 1e6
    row = {
        "tree": name,
        "text_mb": round(mb, 1),
        "files": files,
        "detect_secrets_s": round(ds_time, 2),
        "nhiscan_s": round(nh_time, 2),
        "detect_secrets_mb_s": round(mb / ds_time, 2),
        "nhiscan_mb_s": round(mb / nh_time, 2),
        "ratio": round(ds_time / nh_time, 1),
        "detect_secrets_results": len(ds_found),
        "nhiscan_findings": len(result["findings"]),
        "nhiscan_secret_hashes": len(reported),
        "suppressed_by_nhiscan": len(ds_found & suppressed - reported),
        "missed_by_nhiscan": len(missed),
    }
    print("MB/s = MB of UTF-8 text files / wall time")
    print(
        f"detect-secrets: {ds_time:7.2f} s  {mb / ds_time:7.2f} MB/s  {len(ds_found)} results (file, secret)"
    )
    print(f"nhiscan:        {nh_time:7.2f} s  {mb / nh_time:7.2f} MB/s  {len(result['findings'])} findings")
    print(f"speed-up:       {ds_time / nh_time:.1f}x")
    print(f"suppressed by nhiscan (placeholders, doc examples, IPs): {row['suppressed_by_nhiscan']}")
    print(f"missed by nhiscan: {len(missed)}")
    for m in sorted(missed)[:10]:
        print("   missed:", m)
    return row


def make_history_repo(dest: Path, commits: int, seed: int = 5) -> int:
    """A repository with ``commits`` commits on two branches, built with git fast-import."""
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", "-b", "main", str(dest)], check=True)
    rng = random.Random(seed)
    files = [f"src/mod{i % 40}/file{i}.py" for i in range(400)]
    contents = {f: f'"""{f}"""\n\nVALUE = {i}\n' for i, f in enumerate(files)}
    planted = 0
    chunks: list[bytes] = []
    when = 1_700_000_000
    for n in range(1, commits + 1):
        branch = "main" if n % 5 else "feature"
        changed = rng.sample(files, rng.randint(1, 3))
        for f in changed:
            lines = contents[f].splitlines()
            if rng.random() < 0.03:
                line, _ = planted_secret(rng)
                lines.append(line)
                planted += 1
            elif len(lines) > 6 and rng.random() < 0.3:
                lines.pop(rng.randrange(3, len(lines)))  # sometimes removes a planted secret again
            else:
                word = "".join(rng.choice(string.ascii_lowercase) for _ in range(8))
                lines.append(f"def {word}_{n}(x):\n    return x + {n}")
            contents[f] = "\n".join(lines) + "\n"
        msg = f"change {n}".encode()
        body = [f"commit refs/heads/{branch}\n".encode(), f"mark :{n}\n".encode()]
        body.append(f"committer Bench <bench@example.com> {when + n} +0000\n".encode())
        body.append(b"data %d\n%s\n" % (len(msg), msg))
        if n == 1:
            for f in files:
                data = contents[f].encode()
                body.append(b"M 100644 inline %s\ndata %d\n%s\n" % (f.encode(), len(data), data))
        else:
            for f in changed:
                data = contents[f].encode()
                body.append(b"M 100644 inline %s\ndata %d\n%s\n" % (f.encode(), len(data), data))
        chunks.append(b"".join(body))
        if n == 1:
            chunks.append(b"reset refs/heads/feature\nfrom :1\n\n")
    subprocess.run(["git", "-C", str(dest), "fast-import", "--quiet"], input=b"".join(chunks), check=True)
    subprocess.run(["git", "-C", str(dest), "checkout", "-q", "main"], check=True)
    return planted


def bench_history(commits: int) -> dict:  # type: ignore[type-arg]
    repo = WORK / "history"
    make_history_repo(repo, commits)
    n_commits = int(
        subprocess.run(
            ["git", "-C", str(repo), "rev-list", "--all", "--count"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    listed = subprocess.run(
        [
            "git",
            "-C",
            str(repo),
            "rev-list",
            "--all",
            "--objects",
            "--filter=object:type=blob",
            "--filter-print-omitted",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    blobs = sum(1 for line in listed.splitlines() if not line.startswith("~")) - n_commits
    dt, result = run_nhiscan(repo, ["--history"])
    hist = [f for f in result["findings"] if (f.get("location") or {}).get("commit")]
    print(f"\n== --history: {n_commits} commits, {blobs} unique blobs")
    print(
        f"nhiscan scan --history: {dt:.2f} s, {len(result['findings'])} findings ({len(hist)} only in history)"
    )
    return {
        "commits": n_commits,
        "unique_blobs": blobs,
        "seconds": round(dt, 2),
        "findings": len(result["findings"]),
        "history_only": len(hist),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size-mb", type=float, default=24.0)
    ap.add_argument("--real", default=None, help="real source tree to copy (default: installed botocore)")
    ap.add_argument("--commits", type=int, default=3000)
    ap.add_argument("--cores", type=int, default=len(os.sched_getaffinity(0)))
    ap.add_argument("--skip-generated", action="store_true")
    ap.add_argument("--skip-real", action="store_true")
    ap.add_argument("--skip-history", action="store_true")
    args = ap.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    rows = []
    if not args.skip_generated:
        gen = WORK / "generated"
        if gen.exists():
            shutil.rmtree(gen)
        planted = generate(gen, int(args.size_mb * 1e6), seed=7)
        git_init(gen)
        print(f"generated tree, planted secrets: {sum(planted.values())}")
        rows.append(compare("generated", gen, args.cores))
    if not args.skip_real:
        import botocore

        src = Path(args.real) if args.real else Path(botocore.__file__).parent
        real = WORK / f"real-{src.name}"
        if real.exists():
            shutil.rmtree(real)
        shutil.copytree(src, real, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        git_init(real)
        rows.append(compare(f"real:{src.name}", real, args.cores))
    hist = None if args.skip_history else bench_history(args.commits)
    out = ROOT / "benchmarks" / "out"
    out.mkdir(exist_ok=True)
    (out / "secrets_bench.json").write_text(json.dumps({"trees": rows, "history": hist}, indent=2) + "\n")
    print(f"\nwritten {out / 'secrets_bench.json'}")


if __name__ == "__main__":
    main()
