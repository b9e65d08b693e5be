"""Process lifetime: how the nhiscan command ends on a signal, and how its workers follow it.

The CLI (``install()``, first thing in ``main``) handles SIGINT, SIGTERM and SIGHUP itself: the
handler runs in the main thread between two bytecodes, wherever the scan is (waiting on worker
processes, on a git subprocess, on a cloud API in a thread pool, rendering a report). It does not
unwind the stack (a ``with ThreadPoolExecutor`` would wait for every in-flight API call, a
process pool for every queued batch): it kills nhiscan's child processes (scan workers, git),
removes the temporary files of writes in progress (``add_temporary``), prints one line and leaves at
once with 128 + the signal number (130, 143, 129), the shell convention. So a report that was
being written is never replaced by a partial one: it keeps its previous content.

Worker processes (``worker_started``, their initializer) leave interrupts to the main process
(SIGINT ignored: Ctrl-C reaches the whole process group, and the main process decides), end with
the default action on SIGTERM / SIGHUP (unless nhiscan runs with them ignored, as under nohup), and die when the main process dies, even by SIGKILL
(Linux: PR_SET_PDEATHSIG; elsewhere a thread that watches the parent). They are started with
those signals blocked (``spawning``), so a signal that arrives while a worker is still starting
up cannot make it print a traceback.

A library caller (``nhiscan.core``) keeps its own signal handling: nothing here is installed then.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from types import FrameType
from typing import NoReturn

HANDLED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
# A reader that closed the pipe nhiscan writes to (`nhiscan scan | head -1`): what a shell reports
# for a Unix tool killed by SIGPIPE, 128 + 13.
EXIT_BROKEN_PIPE = 128 + signal.SIGPIPE

_temporary: set[str] = set()  # files to remove if the process is ended by a signal
_deferred = 0  # > 0 inside ``deferred_signals``
_pending: int | None = None
_ending = False


def install() -> None:
    """Handle SIGINT, SIGTERM and SIGHUP as described above (the CLI only). A signal this process
    was started with ignored stays ignored: `nohup nhiscan ...` must survive the hangup, and a
    shell starts background jobs with SIGINT ignored."""
    if threading.current_thread() is not threading.main_thread():
        return
    for sig in HANDLED:
        if signal.getsignal(sig) != signal.SIG_IGN:
            signal.signal(sig, _on_signal)


def _on_signal(signum: int, _frame: FrameType | None) -> None:
    global _pending
    if _deferred:
        _pending = signum
        return
    end(signum)


def end(signum: int) -> NoReturn:
    """Stop everything now: children killed, temporary files removed, one line, exit 128 + signum."""
    global _ending
    if _ending:  # a second signal while ending: the first one finishes within milliseconds
        os._exit(128 + signum)
    _ending = True
    kill_children()
    for path in list(_temporary):
        with suppress(OSError):
            os.unlink(path)
    name = signal.Signals(signum).name
    lead = "\n\x1b[?25h" if _isatty(2) else ""  # off a progress line, cursor shown again
    with suppress(OSError):
        os.write(2, f"{lead}nhiscan: interrupted by {name}\n".encode())
    os._exit(128 + signum)


def _isatty(fd: int) -> bool:
    try:
        return os.isatty(fd)
    except OSError:
        return False


def kill_children(reap_seconds: float = 1.0) -> None:
    """SIGKILL every child process of this one (scan workers, git, credential helpers) and reap
    them, so none outlives nhiscan. They hold nothing that needs a clean exit: nhiscan's children
    only read. Not multiprocessing's resource tracker: it removes the pool's named semaphores
    (/dev/shm) once this process is gone, and then ends."""
    tracker = _resource_tracker_pid()
    pids = [pid for pid in _child_pids() if pid != tracker]
    for pid in pids:
        with suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + reap_seconds
    waiting = set(pids)
    while waiting and time.monotonic() < deadline:
        for pid in list(waiting):
            try:
                done, _ = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:  # reaped elsewhere (the pool's own thread)
                done = pid
            if done:
                waiting.discard(pid)
        if waiting:
            time.sleep(0.005)


def _resource_tracker_pid() -> int | None:
    tracker = sys.modules.get("multiprocessing.resource_tracker")
    pid = getattr(getattr(tracker, "_resource_tracker", None), "_pid", None)
    return pid if isinstance(pid, int) else None


def _child_pids() -> list[int]:
    me = os.getpid()
    pids: set[int] = set()
    try:
        tasks = os.listdir(f"/proc/{me}/task")
    except OSError:
        tasks = []
    for tid in tasks:
        try:
            with open(f"/proc/{me}/task/{tid}/children") as fh:
                pids.update(int(p) for p in fh.read().split())
        except FileNotFoundError:
            continue  # that thread has just ended (its children moved to another one)
        except OSError:
            break
    else:
        if tasks:
            return sorted(pids)
    # No /proc children lists: the processes multiprocessing knows of (git ends on its own when
    # its pipe to nhiscan closes).
    import multiprocessing

    return sorted(p.pid for p in multiprocessing.active_children() if p.pid)


@contextmanager
def deferred_signals() -> Iterator[None]:
    """A short critical section: a handled signal arriving inside it takes effect at its end."""
    global _deferred, _pending
    _deferred += 1
    try:
        yield
    finally:
        _deferred -= 1
        if not _deferred and _pending is not None:
            signum, _pending = _pending, None
            end(signum)


def add_temporary(path: str) -> None:
    """``path`` is a temporary file: removed if a signal ends the process (see nhiscan.output)."""
    _temporary.add(path)


def discard_temporary(path: str) -> None:
    _temporary.discard(path)


# -- worker processes -----------------------------------------------------------------------------
_QUIET_TRACKER = "ignore::UserWarning:multiprocessing.resource_tracker"


@contextmanager
def spawning() -> Iterator[None]:
    """Around starting worker processes: they inherit the handled signals blocked (until
    ``worker_started`` unblocks them); this process receives them as soon as the block ends.

    multiprocessing's resource tracker is started first, outside the block (starting it unblocks
    SIGINT and SIGTERM in the calling thread), told not to warn about the semaphores it cleans up
    after an interrupted scan: leaving that to it is deliberate."""
    from multiprocessing import resource_tracker

    if _QUIET_TRACKER not in sys.warnoptions:
        sys.warnoptions.append(_QUIET_TRACKER)  # passed on as -W to the processes it starts
    resource_tracker.ensure_running()
    old = signal.pthread_sigmask(signal.SIG_BLOCK, HANDLED)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


_PR_SET_PDEATHSIG = 1


def worker_started(parent: int) -> None:
    """First thing in a worker process: die with ``parent``; leave interrupts to it."""
    if not _die_with_parent():
        threading.Thread(target=_watch_parent, args=(parent,), daemon=True, name="nhiscan-parent").start()
    if os.getppid() != parent:  # the parent died before the guard above was in place
        os._exit(1)
    # SIGTERM / SIGHUP keep their inherited disposition: the default (end at once), or ignored
    # when the main process ignores them too (nohup).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, HANDLED)


def _die_with_parent() -> bool:
    """Ask the kernel for SIGKILL when the parent exits (Linux); False where that is unavailable."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(0.2)
    os._exit(1)
