"""GitHub Actions workflow scanning: nhiscan vs zizmor on the same real workflow files, side by side.

    python benchmarks/ci_bench.py [CORPUS] [--from-git GITDIR ...] [--runs 5] [--zizmor PATH] [--ref REF]

CORPUS (default $NHISCAN_WORKFLOW_CORPUS, else benchmarks/.work/workflow-corpus) holds one
directory per project, each with its `.github/workflows/*.yml`. --from-git fills it first from git repositories (bare or not): the
workflow files of each one's HEAD, in CORPUS/<name>/.github/workflows. Other projects' files are
only ever read from there, never committed here.

1. Times `nhiscan scan CORPUS --format json -o FILE` and `zizmor --offline --no-progress CORPUS`
   (zizmor from --zizmor, $ZIZMOR or PATH; install it in a venv of its own, it is not a dependency
   of nhiscan) alternately --runs times after one untimed warm-up run of each, with bytecode
   caching allowed (as in a normal install), and prints the median wall and CPU seconds of each and
   their ratios. Fails (exit 1) when nhiscan uses more than --max-ratio times zizmor's CPU time (on
   a shared machine wall time measures the other load as much as the tools). --ref REF also
   times the `nhiscan scan` of git commit REF (its tree extracted with `git archive`, run by the
   same console script with that tree first on PYTHONPATH) in the same alternation, so a change's
   before and after are measured side by side with zizmor in one run.
2. Secret scanning per MB, in one process: the corpus's YAML against as many MB of Python source
   (the standard library's), each through the same scanner nhiscan uses. Fails when YAML costs more
   than --max-yaml-ratio times Python per MB. Also prints the YAML against Python cut into pieces
   of the workflow files' sizes (per-file costs then weigh the same on both sides).

Without a corpus (no CORPUS, no --from-git) it says so and exits 0, so run_all.py can run it anywhere.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = Path(
    os.environ.get("NHISCAN_WORKFLOW_CORPUS") or ROOT / "benchmarks" / ".work" / "workflow-corpus"
)
sys.path.insert(0, str(ROOT))
BIN = Path(sys.executable).parent


def build_corpus(corpus: Path, git_dirs: list[str]) -> None:
    for g in git_dirs:
        gd = Path(g)
        git_dir = gd / ".git" if (gd / ".git").is_dir() else gd
        name = gd.name if gd.name not in ("repo", ".git") else gd.parent.name
        listing = subprocess.run(
            [
                "git",
                f"--git-dir={git_dir}",
                "ls-tree",
                "-r",
                "--name-only",
                "HEAD",
                "--",
                ".github/workflows",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        out = corpus / name / ".github" / "workflows"
        for path in listing.stdout.splitlines():
            if not path.endswith((".yml", ".yaml")):
                continue
            blob = subprocess.run(
                ["git", f"--git-dir={git_dir}", "show", f"HEAD:{path}"], capture_output=True, check=False
            )
            if blob.returncode == 0:
                out.mkdir(parents=True, exist_ok=True)
                (out / Path(path).name).write_bytes(blob.stdout)


def workflow_files(corpus: Path) -> list[Path]:
    return sorted(p for p in corpus.glob("*/.github/workflows/*") if p.suffix in (".yml", ".yaml"))


# As installed for use: Python may cache bytecode (a shell with PYTHONDONTWRITEBYTECODE=1 would
# make every run compile nhiscan's modules from source again).
_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def timed(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + system, children included) of one run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False, env=env or _ENV)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


Timing = tuple[float, float]  # median wall seconds, median CPU seconds


def side_by_side(
    corpus: Path, zizmor: str | None, runs: int, ref_tree: Path | None = None
) -> tuple[Timing, Timing | None, Timing | None]:
    """Medians of nhiscan (this tree), zizmor and nhiscan at --ref, run alternately."""
    with tempfile.TemporaryDirectory() as tmp:
        nhiscan = [str(BIN / "nhiscan"), "scan", str(corpus), "--format", "json", "-o", f"{tmp}/r.json"]
        theirs_cmd = [zizmor, "--offline", "--no-progress", str(corpus)] if zizmor else None
        ref_env = {**_ENV, "PYTHONPATH": str(ref_tree)} if ref_tree else None
        ours: list[tuple[float, float]] = []
        theirs: list[tuple[float, float]] = []
        before: list[tuple[float, float]] = []
        timed(nhiscan)  # warm-up, untimed: bytecode cache and file cache for every contestant
        if theirs_cmd:
            timed(theirs_cmd)
        if ref_env:
            timed(nhiscan, ref_env)
        for _ in range(runs):
            ours.append(timed(nhiscan))
            if theirs_cmd:
                theirs.append(timed(theirs_cmd))
            if ref_env:
                before.append(timed(nhiscan, ref_env))

    def med(xs: list[tuple[float, float]]) -> Timing | None:
        if not xs:
            return None
        return statistics.median(x[0] for x in xs), statistics.median(x[1] for x in xs)

    mine = med(ours)
    assert mine is not None
    return mine, med(theirs), med(before)


def extract_ref(ref: str, dest: Path) -> Path | None:
    """The tree of commit ``ref`` (git archive) under ``dest``; None when git cannot give it."""
    from same_findings import extract  # beside this script (its folder is on sys.path)

    return dest / "tree" if extract(ref, dest) else None


def secrets_per_mb(corpus: Path) -> tuple[float, float, float, float, float]:
    """Seconds per MB of secret scanning: corpus YAML, then as many MB of Python source (the
    standard library's first modules), then Python cut into pieces of the YAML files' sizes.

    The last is the fairer yardstick of the format's own cost: much of a scan's cost is per file
    (each gate tested once per file), and the workflows are a fifth the size of a standard
    library module, so per MB they pay that part five times over whatever their format."""
    from nhiscan.sources.repo.engine import ds_session

    yaml_texts = [(str(p.relative_to(corpus)), p.read_text(encoding="utf-8")) for p in workflow_files(corpus)]
    yaml_bytes = sum(len(t.encode()) for _, t in yaml_texts)
    py_texts: list[tuple[str, str]] = []
    py_bytes = 0
    source_lines: list[str] = []
    for p in sorted(Path(os.__file__).parent.glob("*.py")):
        text = p.read_text(encoding="utf-8", errors="replace")
        if py_bytes < yaml_bytes:
            py_texts.append((p.name, text))
            py_bytes += len(text.encode())
        source_lines.extend(text.splitlines(keepends=True))
        if py_bytes >= yaml_bytes and len(source_lines) > 4 * yaml_bytes / 30:
            break
    # Python pieces, each as long as one workflow file, cut at line ends from the same modules
    matched: list[tuple[str, str]] = []
    at = 0
    for _, text in yaml_texts:
        piece: list[str] = []
        size = 0
        while size < len(text) and at < len(source_lines):
            piece.append(source_lines[at])
            size += len(source_lines[at])
            at += 1
        matched.append((f"piece{len(matched)}.py", "".join(piece)))
    matched_bytes = sum(len(t.encode()) for _, t in matched)
    with ds_session() as scanner:
        scanner.scan_text("warm.yml", "a: b\n")

        def run(texts: list[tuple[str, str]]) -> float:
            start = time.perf_counter()
            for name, text in texts:
                scanner.scan_text(name, text)
            return time.perf_counter() - start

        # Alternate and keep the best of three: the least disturbed by other load on the machine.
        ys, ps, ms = [], [], []
        for _ in range(3):
            ys.append(run(yaml_texts))
            ps.append(run(py_texts))
            ms.append(run(matched))
    return (
        min(ys) / yaml_bytes * 1e6,
        yaml_bytes / 1e6,
        min(ps) / py_bytes * 1e6,
        py_bytes / 1e6,
        (min(ms) / matched_bytes * 1e6),
    )


def yaml_breakdown(corpus: Path) -> str:
    """Where the YAML's secret-scanning time goes, in s/MB (best of three): the gates every file
    pays whatever its format (nhiscan's detector catalogue and detect-secrets' prefilter), and the
    one libyaml parse of each file that detect-secrets' YAML semantics need (its transformer reads
    the parsed values, and a file that does not parse is scanned as plain lines instead)."""
    from nhiscan.safeyaml import YamlProblem, _compose
    from nhiscan.sources.repo.engine import ds_session
    from nhiscan.sources.repo.textindex import TextIndex

    texts = [p.read_text(encoding="utf-8") for p in workflow_files(corpus)]
    mb = sum(len(t.encode()) for t in texts) / 1e6

    def best(work: Any) -> float:
        times = []
        for _ in range(3):
            start = time.perf_counter()
            work()
            times.append(time.perf_counter() - start)
        return min(times) / mb

    def parse_all() -> None:
        for t in texts:
            with contextlib.suppress(YamlProblem):
                _compose(t, "YAML")

    with ds_session() as scanner:

        def gates() -> None:
            for t in texts:
                index = TextIndex(t)
                scanner._catalogue.scan(t, index)
                scanner.prefilter.candidates(t, index)

        g = best(gates)
    p = best(parse_all)
    return f"of which: gates every format pays {g:.3f} s/MB, the libyaml parse alone {p:.3f} s/MB"


def yaml_paths() -> str:
    """How the YAML files of the secret scan were read: line scan, or libyaml parse."""
    from nhiscan.sources.repo.yaml_lines import STATS

    return (
        f"YAML texts read by the line scan (every repeat counted): {STATS['line_scan']}, "
        f"parsed (line scan undecided): {STATS['parsed']}, "
        f"parsed as CI/agent configs (parse shared with their checks): {STATS['config_parsed']}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("corpus", nargs="?", default=str(DEFAULT_CORPUS))
    parser.add_argument("--from-git", nargs="*", default=[], metavar="GITDIR")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--zizmor", default=os.environ.get("ZIZMOR") or shutil.which("zizmor"))
    parser.add_argument("--max-ratio", type=float, default=1.0)
    parser.add_argument("--max-yaml-ratio", type=float, default=1.0)
    parser.add_argument("--ref", default=None, help="also time nhiscan at this git commit (before/after)")
    args = parser.parse_args()
    corpus = Path(args.corpus)
    if args.from_git:
        build_corpus(corpus, args.from_git)
    files = workflow_files(corpus) if corpus.is_dir() else []
    if not files:
        print(f"no workflow corpus at {corpus} (give CORPUS or --from-git); skipped")
        return 0
    projects = len({p.parts[-4] for p in files})
    size = sum(p.stat().st_size for p in files) / 1e6
    print(f"corpus: {len(files)} workflow files of {projects} projects, {size:.2f} MB")
    failed = False
    with tempfile.TemporaryDirectory() as tmp:
        ref_tree = extract_ref(args.ref, Path(tmp)) if args.ref else None
        if args.ref and ref_tree is None:
            print(f"--ref {args.ref}: git archive cannot give it; not timed")
        (ours, ours_cpu), theirs, before = side_by_side(corpus, args.zizmor, args.runs, ref_tree)
    print(f"nhiscan scan: {ours:.2f} s wall, {ours_cpu:.2f} s CPU (medians of {args.runs})")
    if before is not None:
        print(
            f"nhiscan scan at {args.ref}: {before[0]:.2f} s wall, {before[1]:.2f} s CPU (medians of {args.runs})"
        )
    if theirs is None:
        print("zizmor: not found (--zizmor PATH or $ZIZMOR); no comparison")
    else:
        wall, cpu = theirs
        print(f"zizmor --offline: {wall:.2f} s wall, {cpu:.2f} s CPU (medians of {args.runs})")
        ratio = ours_cpu / cpu
        print(f"nhiscan / zizmor: {ours / wall:.2f}x wall, {ratio:.2f}x CPU")
        if before is not None:
            print(f"nhiscan at {args.ref} / zizmor: {before[0] / wall:.2f}x wall, {before[1] / cpu:.2f}x CPU")
        # CPU seconds decide: on a shared machine wall time measures the other load as much as the tool.
        if ratio > args.max_ratio:
            print(f"FAIL: nhiscan uses more than {args.max_ratio}x zizmor's CPU time")
            failed = True
    y_per, ymb, p_per, pmb, m_per = secrets_per_mb(corpus)
    print(f"secret scanning: YAML {y_per:.3f} s/MB ({ymb:.2f} MB), Python {p_per:.3f} s/MB ({pmb:.2f} MB)")
    print(f"YAML / Python per MB: {y_per / p_per:.2f}x")
    print(
        f"Python in pieces of the workflows' sizes: {m_per:.3f} s/MB; YAML / those: {y_per / m_per:.2f}x "
        "(file size set apart)"
    )
    print(yaml_breakdown(corpus))
    print(yaml_paths())
    if y_per / p_per > args.max_yaml_ratio:
        print(f"FAIL: YAML secret scanning slower than {args.max_yaml_ratio}x Python per MB")
        failed = True
    else:
        print(f"PASS: YAML secret scanning within {args.max_yaml_ratio}x Python per MB")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
