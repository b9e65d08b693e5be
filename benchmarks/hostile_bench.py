"""What hostile input costs a scan: the figures the hardening work promises, measured through the
installed `nhiscan` command.

    python benchmarks/hostile_bench.py [--line-sizes 100,200,400,1000] [--limit 60]

- YAML alias bombs (nested anchors, nine levels; and merge keys) in a GitHub workflow, an Azure
  Pipelines file and a kubectl YAML export: wall time of the scan (target: under 5 s each).
- One endless line of `password="<32 random chars>"` entries at several sizes (KB): wall time, how
  many of the planted secrets were found, and the time ratio against the smallest size (linear
  means the ratio follows the size ratio).
- SIGTERM / SIGINT to a scan that runs worker processes (a repository above the worker threshold):
  seconds from the signal until no process of the scan's session is left (target: under 2 s), and
  the exit code (143 / 130).

Every case runs with a time limit (--limit), so a regression shows as "timeout" rather than a
hang. Exit status 1 when any target is missed. Figures are only comparable within one run.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import string
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ALPHABET = string.ascii_letters + string.digits


def nhiscan() -> str:
    exe = Path(sys.executable).parent / "nhiscan"
    return str(exe) if exe.exists() else (shutil.which("nhiscan") or "nhiscan")


def timed_scan(args: list[str], limit: float) -> tuple[float, int | None, dict[str, object] | None]:
    """(seconds, exit code or None on timeout, parsed JSON result or None)."""
    out = Path(tempfile.mkdtemp()) / "result.json"
    cmd = [nhiscan(), "scan", *args, "--format", "json", "--fail-on", "none", "--output", str(out)]
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        code: int | None = proc.wait(timeout=limit)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        code = None
    seconds = time.perf_counter() - start
    result = json.loads(out.read_text("utf-8")) if code is not None and out.exists() else None
    return seconds, code, result


def _sequence_bomb(levels: int = 9, width: int = 9) -> list[str]:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * width) + "]")
    return lines


def _merge_bomb(levels: int = 9, width: int = 9) -> list[str]:
    lines = ["m0: &m0 {k: v}"]
    for i in range(1, levels):
        lines.append(f"m{i}: &m{i}")
        lines.append("  <<: [" + ", ".join([f"*m{i - 1}"] * width) + "]")
        lines.append(f"  k{i}: v")
    return lines


def bomb_cases(root: Path) -> dict[str, list[str]]:
    cases: dict[str, list[str]] = {}
    for kind, bomb in (("sequence", _sequence_bomb()), ("merge-key", _merge_bomb())):
        repo = root / f"gha-{kind}"
        (repo / ".github" / "workflows").mkdir(parents=True)
        body = ["name: bomb", "on: push", *bomb, "jobs:", "  b:", "    runs-on: ubuntu-latest"]
        body += [
            "    steps:",
            "      - run: echo hi",
            f"    env: {{X: *{'a8' if kind == 'sequence' else 'm8'}}}",
        ]
        (repo / ".github" / "workflows" / "bomb.yml").write_text("\n".join(body) + "\n")
        cases[f"github workflow, {kind} bomb"] = [str(repo)]
        azure = root / f"azure-{kind}"
        azure.mkdir()
        ref = "a8" if kind == "sequence" else "m8"
        (azure / "azure-pipelines.yml").write_text(
            "\n".join([*bomb, f"variables: {{x: *{ref}}}", "steps:", "- script: echo"]) + "\n"
        )
        cases[f"azure-pipelines.yml, {kind} bomb"] = [str(azure)]
    export = root / "k8s-bomb.yaml"
    body = [
        "apiVersion: v1",
        "kind: List",
        *_sequence_bomb(),
        "items:",
        "- kind: ServiceAccount",
        "  apiVersion: v1",
    ]
    body += ["  metadata:", "    name: bomb", "    namespace: default", "    annotations:", "      x: *a8"]
    export.write_text("\n".join(body) + "\n")
    cases["kubectl YAML export, sequence bomb"] = ["--input", f"bench={export}"]
    return cases


def long_line_repo(root: Path, kb: int) -> tuple[Path, int]:
    repo = root / f"line-{kb}k"
    repo.mkdir()
    entries: list[str] = []
    size = 0
    while size < kb * 1024:
        entry = 'password="' + "".join(secrets.choice(ALPHABET) for _ in range(32)) + '" '
        entries.append(entry)
        size += len(entry)
    (repo / "dump.txt").write_text("".join(entries))
    return repo, len(entries)


def worker_repo(root: Path, mb: int = 6) -> Path:
    repo = root / "big"
    repo.mkdir()
    line = "value = compute(alpha, beta, gamma)  # ordinary code, nothing secret here\n"
    per_file = line * 2000
    for i in range(max(1, (mb * 1024 * 1024) // len(per_file))):
        (repo / f"mod_{i:04d}.py").write_text(per_file)
    return repo


def session_processes(sid: int) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[3]) == sid and fields[0] != "Z":
            pids.append(int(entry))
    return pids


def signal_case(repo: Path, sig: signal.Signals, limit: float) -> tuple[float | None, int | None]:
    proc = subprocess.Popen(
        [nhiscan(), "scan", str(repo), "--format", "json", "--fail-on", "none"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline and len(session_processes(proc.pid)) < 3:
        time.sleep(0.05)  # wait for the worker processes
    os.kill(proc.pid, sig)
    sent = time.monotonic()
    gone: float | None = None
    while time.monotonic() - sent < limit:
        if proc.poll() is not None and not session_processes(proc.pid):
            gone = time.monotonic() - sent
            break
        time.sleep(0.02)
    if gone is None:
        os.killpg(proc.pid, signal.SIGKILL)
        for pid in session_processes(proc.pid):
            os.kill(pid, signal.SIGKILL)
    proc.wait()
    return gone, proc.returncode


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--line-sizes", default="100,200,400,1000", help="single-line sizes in KB")
    parser.add_argument("--limit", type=float, default=60.0, help="seconds before a case counts as a timeout")
    args = parser.parse_args()
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        print(f"{'case':<44} {'seconds':>9}  result")
        for name, case_args in bomb_cases(root).items():
            seconds, code, _ = timed_scan(case_args, args.limit)
            verdict = "timeout" if code is None else f"exit {code}"
            ok &= code is not None and seconds < 5
            print(f"{name:<44} {seconds:9.2f}  {verdict}")
        base: float | None = None
        base_kb = 0
        for kb in (int(s) for s in args.line_sizes.split(",")):
            repo, planted = long_line_repo(root, kb)
            seconds, code, result = timed_scan([str(repo)], args.limit)
            found = len(result["findings"]) if isinstance(result, dict) else 0  # type: ignore[arg-type]
            if base is None:
                base, base_kb = seconds, kb
            ratio = f"{seconds / base:5.1f}x time for {kb / base_kb:4.1f}x size"
            verdict = "timeout" if code is None else f"{found}/{planted} found, {ratio}"
            ok &= code is not None and found >= planted and (kb < 1000 or seconds < 5)
            print(f"{'one line of ' + str(kb) + ' KB':<44} {seconds:9.2f}  {verdict}")
        repo = worker_repo(root)
        for sig, expected in ((signal.SIGTERM, 143), (signal.SIGINT, 130)):
            gone, code = signal_case(repo, sig, args.limit)
            ok &= gone is not None and gone < 2 and code == expected
            shown = "processes left" if gone is None else f"{gone:.2f}"
            print(f"{sig.name + ' to a scan with workers':<44} {shown:>9}  exit {code} (expected {expected})")
    print("all targets met" if ok else "TARGETS MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
