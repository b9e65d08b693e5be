"""Hostile input cost: one-line dumps of many secrets, and YAML alias/merge-key bombs.

Usage: python benchmarks/long_lines.py [--sizes 100,200,400,1000] [--timeout 300]
For each size (KB), a repository holding one line of `password="<32 random>" ` entries (no
newline) is scanned by the installed `nhiscan`; prints wall and CPU seconds and how many of the
planted secrets were reported. Then a ~450-byte GitHub workflow sequence bomb and an Azure
Pipelines merge-key bomb are scanned. Fails (exit 1) when a planted secret is missed, when CPU time
grows more than 6x for 4x the line (quadratic would be 16x), or when a bomb costs over 5 CPU seconds.
"""

from __future__ import annotations

import argparse
import json
import resource
import secrets
import shutil
import string
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nhiscan.sources.repo.secrets import is_placeholder, redact  # noqa: E402


def _value() -> str:
    while True:
        v = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(32))
        if is_placeholder(v) is None:
            return v


def _run(nhiscan: str, path: Path, out: Path, timeout: int) -> tuple[float, float, int | None]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    cmd = [nhiscan, "scan", str(path), "--format", "json", "--output", str(out), "--fail-on", "none"]
    try:
        code: int | None = subprocess.run(cmd, capture_output=True, timeout=timeout).returncode
    except subprocess.TimeoutExpired:
        code = None
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), code


def _bomb(merge: bool) -> str:
    if merge:
        lines = ["m0: &m0 {k0: v}"]
        for i in range(1, 9):
            lines += [f"m{i}: &m{i}", f"  k{i}: v", "  <<: [" + ",".join([f"*m{i - 1}"] * 9) + "]"]
        return "\n".join(lines) + "\npipeline:\n  variables: *m8\n"
    lines = ['a0: &a0 ["x", "y"]'] + [
        f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 9)
    ]
    return "on: push\n" + "\n".join(lines) + "\njobs:\n  b:\n    runs-on: ubuntu-latest\n    steps: *a8\n"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="100,200,400,1000")
    parser.add_argument("--timeout", type=int, default=300)
    args = parser.parse_args()
    exe = Path(sys.executable).parent / "nhiscan"
    nhiscan = str(exe) if exe.exists() else shutil.which("nhiscan") or "nhiscan"
    failed = False
    cpu_by_kb: dict[int, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for kb in (int(s) for s in args.sizes.split(",")):
            repo = Path(tmp) / f"line{kb}"
            repo.mkdir()
            values = [_value() for _ in range(kb * 1000 // 44)]
            (repo / "dump.txt").write_text("".join(f'password="{v}" ' for v in values))
            out = Path(tmp) / f"line{kb}.json"
            wall, cpu, code = _run(nhiscan, repo, out, args.timeout)
            shown = (
                {f["evidence"].get("redacted") for f in json.loads(out.read_text())["findings"]}
                if code == 0
                else set()
            )
            found = sum(redact(v) in shown for v in values)
            cpu_by_kb[kb] = cpu
            status = "timed out" if code is None else f"{found}/{len(values)} secrets"
            print(f"{kb:>5} KB line  wall {wall:6.2f} s  cpu {cpu:6.2f} s  {status}", flush=True)
            failed |= code != 0 or found != len(values)
        if 100 in cpu_by_kb and 400 in cpu_by_kb:
            ratio = cpu_by_kb[400] / cpu_by_kb[100]
            print(f"cpu 400 KB / 100 KB: {ratio:.2f}x (linear ~4x, quadratic ~16x; fails above 6x)")
            failed |= ratio > 6
        for name, rel, merge in (
            ("sequence bomb", ".github/workflows/bomb.yml", False),
            ("merge-key bomb", "azure-pipelines.yml", True),
        ):
            repo = Path(tmp) / name.replace(" ", "-")
            (repo / rel).parent.mkdir(parents=True)
            (repo / rel).write_text(_bomb(merge))
            wall, cpu, code = _run(nhiscan, repo, Path(tmp) / "bomb.json", args.timeout)
            size = (repo / rel).stat().st_size
            print(f"{name} ({size} bytes, {rel})  wall {wall:6.2f} s  cpu {cpu:6.2f} s  exit {code}")
            failed |= code != 2 or cpu > 5
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
