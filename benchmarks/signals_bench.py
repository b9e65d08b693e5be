"""How long a scan with worker processes takes to end completely after a signal.

    python benchmarks/signals_bench.py [--size-mb 24] [--cap 90] [--signals INT,TERM,HUP,KILL]

Generates a plain source tree above the size at which the repository scan uses worker processes
(benchmarks/.work/signals-repo-SIZE), then for each signal and each target (the main pid alone, the
whole process group) starts `nhiscan scan TREE --format json --output OUT` in a new session, waits
until its workers are busy scanning, sends the signal and measures the time until no live process
of the session is left (capped at --cap seconds; what is still running then is SIGKILLed and shown
as ">cap"). Prints the exit code, the seconds, and whether stderr held a traceback; exits 1 when
a case took over 2 s, or (SIGINT/SIGTERM/SIGHUP) did not exit 128 + N with one stderr line. SIGKILL is
sent to the main pid only (the case that must not orphan workers). nhiscan is the one on PATH (or
next to this interpreter), or --nhiscan PATH (e.g. one installed from another checkout).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from tests.conftest import nhiscan_exe  # noqa: E402
from tests.hostile.sessions import kill_session, make_big_repo, wait_for_workers, wait_session_gone  # noqa: E402

WORK = HERE / ".work"


def one(exe: str, repo: Path, sig: signal.Signals, group: bool, cap: float) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        err = Path(tmp) / "stderr"
        with err.open("wb") as errf:
            proc = subprocess.Popen(
                [exe, "scan", str(repo), "--format", "json", "--output", str(out)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=errf,
                start_new_session=True,
            )
            try:
                wait_for_workers(proc, 2, cpu=1.0, timeout=120)
                (os.killpg if group else os.kill)(proc.pid, sig)
                gone = wait_session_gone(proc.pid, cap)
            finally:
                kill_session(proc.pid)
                proc.wait()
        text = err.read_text("utf-8", "replace")
    return {
        "signal": sig.name,
        "target": "group" if group else "pid",
        "exit": proc.returncode,
        "seconds": None if gone is None else round(gone, 2),
        "traceback": "Traceback" in text,
        "stderr_lines": len(text.splitlines()),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size-mb", type=float, default=24.0)
    ap.add_argument("--cap", type=float, default=90.0)
    ap.add_argument("--signals", default="INT,TERM,HUP,KILL")
    ap.add_argument("--nhiscan", default=None, help="the nhiscan command to measure (default: installed)")
    args = ap.parse_args()
    repo = WORK / f"signals-repo-{args.size_mb:g}"
    if not repo.exists():
        make_big_repo(repo, args.size_mb)
    rows = []
    for name in args.signals.split(","):
        sig = signal.Signals[f"SIG{name}"]
        for group in (False, True) if sig != signal.SIGKILL else (False,):
            t0 = time.monotonic()
            row = one(args.nhiscan or nhiscan_exe(), repo, sig, group, args.cap)
            rows.append(row)
            shown = f"{row['seconds']:.2f} s" if row["seconds"] is not None else f">{args.cap:.0f} s"
            print(
                f"{row['signal']:8} to {row['target']:5}: exit {row['exit']!s:>4}, no process left after "
                f"{shown:>8}, traceback: {row['traceback']}, stderr lines: {row['stderr_lines']} "
                f"(run {time.monotonic() - t0:.0f} s)",
                flush=True,
            )
    out = HERE / "out"
    out.mkdir(exist_ok=True)
    (out / "signals_bench.json").write_text(json.dumps(rows, indent=2) + "\n")
    bad = [r for r in rows if not ok(r)]
    for row in bad:
        print(f"FAIL: {row}")
    sys.exit(1 if bad else 0)


def ok(row: dict[str, object]) -> bool:
    """Gone within 2 s; 128 + N with one line for the signals nhiscan handles."""
    seconds = row["seconds"]
    if not isinstance(seconds, float | int) or seconds > 2.0 or row["traceback"]:
        return False
    if row["signal"] == "SIGKILL":
        return True
    return row["exit"] == 128 + signal.Signals[str(row["signal"])] and row["stderr_lines"] == 1


if __name__ == "__main__":
    main()
