"""Prove that a change left the results alone: this tree's `nhiscan scan` against another commit's.

    python benchmarks/same_findings.py [PATH ...] [--ref main]

For each PATH (default: fixtures/rules and fixtures/repos, every rule's firing and silent
fixtures and the example repositories) it runs `nhiscan scan PATH --format json --as-of DATE`
twice, once with this working tree's package and once with the package of git commit --ref
(extracted with `git archive` into a temporary directory; nothing in this checkout changes), and
compares the two JSON results byte for byte: findings, secrets, observations, errors, summary and
every other field. Exit 1 on any difference (the first differing lines are shown), 0 when all are
identical. Speed work (benchmarks/ci_bench.py) uses it on the workflow corpus as well:

    python benchmarks/same_findings.py /path/to/workflow-corpus --ref main

--input DIR (repeatable) compares `nhiscan scan --input DIR` the same way: cloud exports or shard
inventories, such as an organization `benchmarks/scale.py --sharded 20000 --keep K` generated:

    python benchmarks/same_findings.py --input K/inventories-20000 --input fixtures/aws/acme-prod

Without git or the ref it says so and exits 0, so run_all.py can run it anywhere.
"""

from __future__ import annotations

import argparse
import difflib
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PATHS = [ROOT / "fixtures" / "rules", ROOT / "fixtures" / "repos"]
AS_OF = "2026-06-01"


def extract(ref: str, dest: Path) -> bool:
    """The tree of commit ``ref`` into ``dest``; False when git or the ref is missing."""
    archive = dest / "tree.tar"
    with archive.open("wb") as out:
        done = subprocess.run(
            ["git", "-C", str(ROOT), "archive", "--format=tar", ref],
            stdout=out,
            stderr=subprocess.DEVNULL,
            check=False,
        )
    if done.returncode != 0:
        return False
    with tarfile.open(archive) as tar:
        tar.extractall(dest / "tree", filter="data")
    return True


def scan(package_root: Path, path: Path, out: Path, *, as_input: bool = False) -> int:
    env = {**os.environ, "PYTHONPATH": str(package_root), "NHISCAN_WORKERS": "1"}
    where = ["--input", str(path)] if as_input else [str(path)]
    cmd = [sys.executable, "-m", "nhiscan", "scan", *where, "--format", "json", "-o", str(out)]
    cmd += ["--as-of", AS_OF]
    # cwd: a directory without nhiscan.toml or waivers, so only the package differs
    return subprocess.run(
        cmd, env=env, cwd=out.parent, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False
    ).returncode


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("paths", nargs="*", type=Path)
    parser.add_argument("--input", action="append", type=Path, default=[], help="scanned as --input DIR")
    parser.add_argument("--ref", default="main", help="the commit to compare with (default main)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        if not extract(args.ref, base):
            print(f"cannot extract {args.ref!r} with git archive; skipped")
            return 0
        different = 0
        todo = [(p, False) for p in args.paths or ([] if args.input else DEFAULT_PATHS)]
        todo += [(p, True) for p in args.input]
        for n, (path, as_input) in enumerate(todo):
            runs = base / f"run{n}"
            runs.mkdir()
            ours, theirs = runs / "this-tree.json", runs / f"{args.ref.replace('/', '_')}.json"
            code_ours = scan(ROOT, path.resolve(), ours, as_input=as_input)
            code_theirs = scan(base / "tree", path.resolve(), theirs, as_input=as_input)
            a = ours.read_text(encoding="utf-8") if ours.exists() else ""
            b = theirs.read_text(encoding="utf-8") if theirs.exists() else ""
            if a == b and code_ours == code_theirs and a:
                import json

                doc = json.loads(a)
                print(
                    f"same: {'--input ' if as_input else ''}{path} ({len(doc['findings'])} findings, {len(doc['secrets'])} secrets, "
                    f"{len(doc['errors'])} errors, exit {code_ours})"
                )
                continue
            different += 1
            print(f"DIFFERENT: {path} (exit {code_ours} here, {code_theirs} at {args.ref})")
            diff = difflib.unified_diff(
                b.splitlines(), a.splitlines(), args.ref, "this tree", lineterm="", n=2
            )
            for line in list(diff)[:40]:
                print(f"  {line}")
    return 1 if different else 0


if __name__ == "__main__":
    sys.exit(main())
