"""Signals end the whole scan: SIGINT, SIGTERM and SIGHUP, sent to the main process alone or to its
process group (Ctrl-C, CI cancellation, `timeout`, `docker stop`), stop nhiscan and every process it
started within 2 s, with exit 130 / 143 / 129, no traceback and one short line; a SIGKILL of the
main process leaves no worker behind. Each run is the installed `nhiscan` in a session of its own
(start_new_session), watched in /proc (tests/hostile/sessions.py)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import AS_OF, nhiscan_exe
from tests.hostile.harness import GOOD_EXPORT, GOOD_EXPORT_ID
from tests.hostile.sessions import (
    kill_session,
    make_big_repo,
    session_procs,
    wait_for_workers,
    wait_session_gone,
)

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc (Linux)")

LIMIT = 2.0  # seconds from the signal to nothing of the scan left
EXIT = {signal.SIGINT: 130, signal.SIGTERM: 143, signal.SIGHUP: 129}


@pytest.fixture(scope="module")
def big_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Above PARALLEL_MIN_BYTES (4 MiB): scanned by worker processes, busy for several seconds each.
    return make_big_repo(tmp_path_factory.mktemp("signals") / "repo", 8)


def start(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [nhiscan_exe(), "scan", *args, "--as-of", AS_OF, "--format", "json"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        # three scanning processes: the main one and two pool workers
        env={**os.environ, "NO_COLOR": "1", "NHISCAN_WORKERS": "3", **(env or {})},
    )


@pytest.fixture
def cleanup() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for proc in started:
        kill_session(proc.pid)
        proc.kill()
        proc.communicate()


def signal_and_watch(proc: subprocess.Popen[bytes], sig: int, group: bool) -> tuple[int, str, float]:
    """Send ``sig``; (exit code, stderr, seconds until stderr closed and no process of the session
    is left). Fails if that takes more than LIMIT."""
    t0 = time.monotonic()
    (os.killpg if group else os.kill)(proc.pid, sig)
    try:
        # communicate returns once the main process exited *and* every holder of its stderr
        # (a worker left running would be one) has closed it.
        _out, err = proc.communicate(timeout=LIMIT)
    except subprocess.TimeoutExpired:
        left = [(p.pid, p.comm) for p in session_procs(proc.pid)]
        raise AssertionError(f"not ended {LIMIT} s after {signal.Signals(sig).name}: {left}") from None
    gone = wait_session_gone(proc.pid, max(0.05, LIMIT - (time.monotonic() - t0)))
    assert gone is not None, f"left running: {session_procs(proc.pid)}"
    return proc.returncode, err.decode("utf-8", "replace"), time.monotonic() - t0


@pytest.mark.parametrize("group", [False, True], ids=["pid", "group"])
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP], ids=lambda s: s.name)
def test_signal_ends_scan_and_workers(
    big_repo: Path, cleanup: list[subprocess.Popen[bytes]], sig: signal.Signals, group: bool
) -> None:
    proc = start(str(big_repo))
    cleanup.append(proc)
    workers = wait_for_workers(proc, 2, cpu=1.0, timeout=120)
    code, err, _ = signal_and_watch(proc, sig, group)
    assert code == EXIT[sig], (code, err)
    assert "Traceback" not in err, err
    assert err.splitlines() == [f"nhiscan: interrupted by {sig.name}"], err
    assert not [w for w in workers if Path(f"/proc/{w}").exists() and _state(w) != "Z"]


def test_sigkill_of_main_process_leaves_no_worker(
    big_repo: Path, cleanup: list[subprocess.Popen[bytes]]
) -> None:
    proc = start(str(big_repo))
    cleanup.append(proc)
    wait_for_workers(proc, 2, cpu=1.0, timeout=120)
    code, err, _ = signal_and_watch(proc, signal.SIGKILL, group=False)
    assert code == -signal.SIGKILL
    # multiprocessing's resource tracker removes the pool's semaphores, without a warning
    assert err == "", err


def test_signal_during_history_scan(
    tmp_path: Path, big_repo: Path, cleanup: list[subprocess.Popen[bytes]]
) -> None:
    """--history: the big tree is only in history (removed from the work tree), so the workers
    that are busy when the signal arrives scan git blobs read through `git cat-file`."""
    repo = tmp_path / "hist"
    repo.mkdir()
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    subprocess.run([*git[:3], "init", "-q"], check=True)
    subprocess.run(["cp", "-r", str(big_repo), str(repo / "old")], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "old code"], check=True)
    subprocess.run([*git, "rm", "-rqf", "old"], check=True)
    (repo / "README.md").write_text("nothing here now\n")
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "cleanup"], check=True)
    # A history stream goes to worker processes when there are more than two (with two, git and
    # the main process already keep both cores busy) or when the work-tree scan started them.
    proc = start("--history", str(repo), env={"NHISCAN_WORKERS": "3"})
    cleanup.append(proc)
    wait_for_workers(proc, 2, cpu=1.0, timeout=180)
    code, err, _ = signal_and_watch(proc, signal.SIGTERM, group=False)
    assert code == 143, err
    assert err.splitlines() == ["nhiscan: interrupted by SIGTERM"], err


def test_signal_during_live_collection(cleanup: list[subprocess.Popen[bytes]]) -> None:
    """Live AWS collection whose per-user calls (a thread pool) hang on the API: a signal still ends
    the scan at once, without waiting for the calls in flight."""
    pytest.importorskip("moto")
    from tests.aws_live.moto_peer import moto_peer

    with moto_peer() as peer:
        iam = peer.client("iam")
        for i in range(12):
            iam.create_user(UserName=f"svc-{i}")
            iam.create_access_key(UserName=f"svc-{i}")
        proc = subprocess.Popen(
            [nhiscan_exe(), "scan", "--aws", "--as-of", AS_OF, "--format", "json"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            env={**os.environ, **peer.env(), "NO_COLOR": "1"},
        )
        cleanup.append(proc)
        deadline = time.monotonic() + 180
        while "iam:ListAccessKeys" not in peer.recorder.ops():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, peer.recorder.ops()
            time.sleep(0.02)
        peer.recorder.latency = 60.0  # every call from now on hangs
        time.sleep(0.5)
        try:
            code, err, _ = signal_and_watch(proc, signal.SIGTERM, group=False)
        finally:
            peer.recorder.latency = 0.0
        assert code == 143, err
        assert err.splitlines() == ["nhiscan: interrupted by SIGTERM"], err


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return "X"


def test_nohup_keeps_the_scan_running_through_a_hangup(
    big_repo: Path, cleanup: list[subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    """Started with SIGHUP ignored (`nohup nhiscan ...`), a hangup of the terminal's process group
    ends neither nhiscan nor its workers: the scan completes and writes its result."""
    out = tmp_path / "result.json"
    proc = subprocess.Popen(
        [nhiscan_exe(), "scan", str(big_repo), "--as-of", AS_OF, "--format", "json", "--output", str(out)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        env={**os.environ, "NO_COLOR": "1", "NHISCAN_WORKERS": "3"},
        preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_IGN),
    )
    cleanup.append(proc)
    wait_for_workers(proc, 2, cpu=1.0, timeout=120)
    os.killpg(proc.pid, signal.SIGHUP)
    _out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert json.loads(out.read_text())["schema"] == "nhiscan/v1"


def test_a_worker_killed_alone_is_one_error_for_its_path(
    big_repo: Path, cleanup: list[subprocess.Popen[bytes]]
) -> None:
    """The OOM killer (or an operator) ends one worker: that PATH is one error, the scan still ends
    normally with its result, exit 2, no traceback."""
    proc = start(str(big_repo), "--input", str(GOOD_EXPORT))
    cleanup.append(proc)
    workers = wait_for_workers(proc, 2, cpu=1.0, timeout=120)
    os.kill(workers[0], signal.SIGKILL)
    out, err = proc.communicate(timeout=120)
    text = err.decode("utf-8", "replace")
    assert proc.returncode == 2, text
    assert "Traceback" not in text, text
    assert text.splitlines() == [
        f"nhiscan: error: {big_repo}: a secret-scanning worker process ended unexpectedly (killed, or "
        "out of memory); not fully scanned"
    ]
    assert GOOD_EXPORT_ID in {i["id"] for i in json.loads(out)["identities"]}
