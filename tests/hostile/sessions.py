"""Helpers for tests that start `nhiscan` in its own session and watch its processes in /proc.

A process started with ``start_new_session=True`` leads a new session; every process it starts
(scan workers, git) stays in that session unless it asks for another, so "no process of the
session remains" is the check that nothing was left running. Zombies are not counted: they run
nothing and hold no file, and whether one lingers depends on the machine's PID 1, not on nhiscan.
Linux only (reads /proc). Also used by benchmarks/signals_bench.py.
"""

from __future__ import annotations

import contextlib
import os
import random
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class ProcStat:
    pid: int
    comm: str
    state: str
    ppid: int
    session: int
    cpu_seconds: float


def proc_stat(pid: int) -> ProcStat | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # "pid (comm) state ppid pgrp session ..."; comm may hold spaces and parentheses.
    head, _, rest = raw.rpartition(")")
    fields = rest.split()
    comm = head.partition("(")[2]
    utime, stime = int(fields[11]), int(fields[12])
    return ProcStat(pid, comm, fields[0], int(fields[1]), int(fields[3]), (utime + stime) / TICKS)


def all_procs() -> list[ProcStat]:
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            st = proc_stat(int(entry))
            if st is not None:
                out.append(st)
    return out


def session_procs(session: int) -> list[ProcStat]:
    """Live (non-zombie) processes of a session."""
    return [p for p in all_procs() if p.session == session and p.state not in ("Z", "X")]


def children(pid: int) -> list[ProcStat]:
    return [p for p in all_procs() if p.ppid == pid and p.state not in ("Z", "X")]


def wait_for_workers(proc: subprocess.Popen[bytes], count: int, cpu: float, timeout: float) -> list[int]:
    """The pids of ``count`` child processes of ``proc`` once each has used ``cpu`` seconds of CPU
    (so it is past its start-up and scanning), or AssertionError after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"nhiscan ended early with {proc.returncode}"
        # (multiprocessing's resource tracker is a child too, but never busy)
        busy = [c.pid for c in children(proc.pid) if c.cpu_seconds >= cpu]
        if len(busy) >= count:
            return busy
        time.sleep(0.05)
    raise AssertionError(f"no {count} busy workers within {timeout} s: {children(proc.pid)}")


def wait_session_gone(session: int, timeout: float) -> float | None:
    """Seconds until no live process of the session is left, or None if some remain after timeout."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if not session_procs(session):
            return time.monotonic() - start
        time.sleep(0.01)
    return None


def kill_session(session: int) -> None:
    """Clean up after a failed test: SIGKILL whatever of the session still runs."""
    for p in session_procs(session):
        with contextlib.suppress(OSError):
            os.kill(p.pid, 9)


def make_big_repo(root: Path, mib: float, seed: int = 7) -> Path:
    """A plain directory of Python-like source files totalling ``mib`` MiB (above the size at which
    the scan uses worker processes), with no secrets: scanning it keeps the workers busy for a while
    (every line goes through detect-secrets' plugins)."""
    rng = random.Random(seed)
    words = ["alpha", "beta", "gamma", "delta", "value", "total", "items", "count", "index", "name"]
    root.mkdir(parents=True, exist_ok=True)
    target = int(mib * 1024 * 1024)
    written = 0
    n = 0
    while written < target:
        lines = []
        for i in range(2000):
            a, b = rng.choice(words), rng.choice(words)
            # "secret" makes every line a candidate for detect-secrets' keyword plugin (the slow
            # path), without a quoted value it would report.
            lines.append(f"def {a}_{b}_{i}(x, y):\n    secret_{a} = x * {rng.randint(1, 999)} + y\n")
        text = "".join(lines)
        sub = root / f"pkg{n % 8}"
        sub.mkdir(exist_ok=True)
        (sub / f"module_{n}.py").write_text(text)
        written += len(text)
        n += 1
    return root
