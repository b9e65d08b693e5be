"""File I/O of the CLI: inputs that never arrive, outputs that fail or would destroy an input.

- A FIFO nobody writes to, given as --input, is one error naming it after a few seconds (not a
  hang); process substitution (`--input <(cmd)`, a pipe on /dev/fd/N) and /dev/stdin still work.
- Every file nhiscan writes replaces its target atomically: a SIGTERM while the report is being
  written, or a failed write, leaves the previous report, and no temporary file.
- --output onto one of the scan's own inputs (also through a symbolic or a hard link) is refused
  before scanning.
- stdout on a full disk is one error naming stdout; a reader that closes the pipe early ends
  nhiscan quietly with 141 (128 + SIGPIPE, what a shell shows for a Unix tool killed by SIGPIPE).
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import AS_OF, nhiscan_exe
from tests.hostile.harness import ERROR_LINE, GOOD_EXPORT, GOOD_EXPORT_ID, hostile_scan

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX FIFOs")

GOOD_TEXT = GOOD_EXPORT.read_text("utf-8")


def run(
    *args: str,
    timeout: float = 60,
    env: dict[str, str] | None = None,
    **kw: object,
) -> subprocess.CompletedProcess[bytes]:
    """The installed nhiscan with the stdio arrangement a test needs (run_cli fixes stdin/stdout)."""
    kw.setdefault("stdin", subprocess.DEVNULL)
    kw.setdefault("stdout", subprocess.PIPE)
    kw.setdefault("stderr", subprocess.PIPE)
    return subprocess.run(  # type: ignore[call-overload, no-any-return]
        [nhiscan_exe(), *args],
        timeout=timeout,
        env={**os.environ, "NO_COLOR": "1", **(env or {})},
        **kw,
    )


def errors(stderr: bytes) -> list[str]:
    lines = stderr.decode("utf-8", "replace").splitlines()
    assert not any("Traceback" in ln or "Exception ignored" in ln for ln in lines), lines
    return [ln for ln in lines if ln.startswith("nhiscan: error:")]


# -- inputs that are streams -----------------------------------------------------------------------
def test_fifo_without_writer_is_one_error_after_a_few_seconds(tmp_path: Path) -> None:
    fifo = tmp_path / "exports.json"
    os.mkfifo(fifo)
    t0 = time.monotonic()
    res = hostile_scan(tmp_path, "--input", str(fifo), expect_code=2, timeout=30)
    took = time.monotonic() - t0
    assert [e for e in res.errors if str(fifo) in e] == res.errors and len(res.errors) == 1, res.errors
    assert "nothing arrived for 5 s" in res.errors[0]
    assert took < 20, took


def test_fifo_timeout_is_configurable_and_other_inputs_still_read(tmp_path: Path) -> None:
    fifos = [tmp_path / f"f{i}.json" for i in range(2)]
    for f in fifos:
        os.mkfifo(f)
    t0 = time.monotonic()
    args = [a for f in fifos for a in ("--input", str(f))]
    res = hostile_scan(tmp_path, *args, expect_code=2, timeout=30, env={"NHISCAN_INPUT_TIMEOUT": "0.5"})
    assert time.monotonic() - t0 < 15
    assert sorted(ERROR_LINE.match(e)["source"] for e in res.errors) == sorted(map(str, fifos))  # type: ignore[index]


def test_fifo_with_a_late_writer_is_read(tmp_path: Path) -> None:
    fifo = tmp_path / "late.json"
    os.mkfifo(fifo)

    def writer() -> None:
        time.sleep(1.0)
        with open(fifo, "w") as fh:
            fh.write(GOOD_TEXT)

    t = threading.Thread(target=writer, daemon=True)
    t.start()
    res = hostile_scan(tmp_path, "--input", str(fifo), expect_code=0, timeout=60, good_export=False)
    t.join(5)
    assert GOOD_EXPORT_ID in {i["id"] for i in res.result["identities"]}


def test_process_substitution_pipe_is_read(tmp_path: Path) -> None:
    """What `--input <(cat export.json)` gives nhiscan: /dev/fd/N, the read end of a pipe."""
    r, w = os.pipe()

    def writer() -> None:
        with os.fdopen(w, "w") as fh:
            fh.write(GOOD_TEXT)

    out = tmp_path / "r.json"
    proc = subprocess.Popen(
        [nhiscan_exe(), "scan", "--input", f"/dev/fd/{r}", "--as-of", AS_OF, "-f", "json", "-o", str(out)],
        pass_fds=(r,),
        stdin=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    os.close(r)
    threading.Thread(target=writer, daemon=True).start()
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert not errors(err)
    assert GOOD_EXPORT_ID in {i["id"] for i in json.loads(out.read_text())["identities"]}


@pytest.mark.parametrize("option", ["--baseline", "--waivers"])
def test_baseline_or_waivers_fifo_without_writer_is_one_error(tmp_path: Path, option: str) -> None:
    fifo = tmp_path / "accepted"
    os.mkfifo(fifo)
    t0 = time.monotonic()
    res = run(
        "scan", "--input", str(GOOD_EXPORT), option, str(fifo), env={"NHISCAN_INPUT_TIMEOUT": "1"}, timeout=30
    )
    assert time.monotonic() - t0 < 15
    assert res.returncode == 2, res.stderr
    errs = errors(res.stderr)
    assert len(errs) == 1 and errs[0].startswith(f"nhiscan: error: {fifo}: nothing arrived for 1 s"), errs


@pytest.mark.parametrize("how", ["pipe", "redirect"])
def test_dev_stdin(tmp_path: Path, how: str) -> None:
    args = ("scan", "--input", "/dev/stdin", "--as-of", AS_OF, "-f", "json")
    if how == "pipe":
        res = run(*args, input=GOOD_TEXT.encode(), stdin=None)
    else:
        with GOOD_EXPORT.open("rb") as fh:
            res = run(*args, stdin=fh)
    assert res.returncode == 0, res.stderr
    assert not errors(res.stderr)
    assert GOOD_EXPORT_ID in {i["id"] for i in json.loads(res.stdout)["identities"]}


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/null"])
def test_device_files_are_refused_without_reading(tmp_path: Path, device: str) -> None:
    res = hostile_scan(tmp_path, "--input", device, expect_code=2, timeout=30)
    assert len(res.errors) == 1 and res.errors[0].startswith(f"nhiscan: error: {device}: is a device file")


def test_special_files_inside_an_input_directory_are_errors_not_hangs(tmp_path: Path) -> None:
    exports = tmp_path / "exports"
    exports.mkdir()
    (exports / "good.json").write_text(GOOD_TEXT)
    os.mkfifo(exports / "gaad.json")
    os.mkfifo(exports / "notes.txt")  # not named like an export: passed over like any such file
    (exports / "dev.json").symlink_to("/dev/zero")
    res = hostile_scan(tmp_path, "--input", str(exports), expect_code=2, timeout=30, good_export=False)
    assert res.errors == [
        # a link out of the directory is never followed, whatever it points at
        f"nhiscan: error: {exports / 'dev.json'}: symbolic link leads outside the directory; not followed",
        f"nhiscan: error: {exports / 'gaad.json'}: is a FIFO, not a regular file; not read",
    ]
    assert GOOD_EXPORT_ID in {i["id"] for i in res.result["identities"]}


def test_special_files_inside_a_repository_do_not_block(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "app.py").write_text("print('hello')\n")
    os.mkfifo(repo / "pipe.py")
    res = hostile_scan(tmp_path, str(repo), expect_code=0, timeout=60)
    assert not res.errors


# -- atomic writes ---------------------------------------------------------------------------------
def big_inventory(path: Path, n: int) -> Path:
    """An inventory export of n unowned roles: one (low) finding each, so a multi-megabyte result."""
    doc = json.loads(GOOD_TEXT)
    one = doc["identities"][0]
    doc["identities"] = [{**one, "id": f"{one['id']}-{i}", "name": f"{one['name']}-{i}"} for i in range(n)]
    path.write_text(json.dumps(doc))
    return path


def test_sigterm_while_the_report_is_written_keeps_the_previous_report(tmp_path: Path) -> None:
    outdir = tmp_path / "reports"
    outdir.mkdir()
    report = outdir / "result.json"
    previous = b'{"schema": "nhiscan/v1", "previous": true}\n'
    report.write_bytes(previous)
    before = report.stat()
    export = big_inventory(tmp_path / "inv.json", 20000)
    proc = subprocess.Popen(
        [nhiscan_exe(), "scan", "--input", str(export), "--as-of", AS_OF, "-f", "json", "-o", str(report)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    # The moment the write starts (a temporary file appears, or the report itself changes), SIGTERM.
    deadline = time.monotonic() + 240
    while proc.poll() is None and time.monotonic() < deadline:
        st = report.stat()
        if len(os.listdir(outdir)) > 1 or (st.st_size, st.st_mtime_ns) != (
            before.st_size,
            before.st_mtime_ns,
        ):
            proc.send_signal(signal.SIGTERM)
            break
    else:
        pytest.fail(f"the write was never seen (exit {proc.returncode})")
    _, err = proc.communicate(timeout=30)
    assert os.listdir(outdir) == ["result.json"], "a temporary file was left behind"
    data = report.read_bytes()
    if data != previous:  # the signal came after the rename: then the new report is complete
        assert json.loads(data)["schema"] == "nhiscan/v1", err
        assert proc.returncode == 0
    else:
        assert proc.returncode == 143, err


def _limit_file_size() -> None:
    resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))


def test_failed_write_keeps_the_previous_report(tmp_path: Path) -> None:
    """A write that fails half-way (here: EFBIG past a 4 KiB file size limit) is one error naming
    the file; the report there before is intact and no temporary file is left."""
    report = tmp_path / "out" / "result.json"
    report.parent.mkdir()
    previous = b'{"schema": "nhiscan/v1", "previous": true}\n'
    report.write_bytes(previous)
    os.chmod(report, 0o640)
    export = big_inventory(tmp_path / "inv.json", 200)
    res = run("scan", "--input", str(export), "--as-of", AS_OF, "-f", "json", "-o", str(report),
              preexec_fn=_limit_file_size)  # fmt: skip
    assert res.returncode == 2, res.stderr
    assert errors(res.stderr) == [f"nhiscan: error: {report}: cannot write: File too large"]
    assert report.read_bytes() == previous
    assert os.listdir(report.parent) == ["result.json"]


def test_written_file_keeps_mode_and_symlink(tmp_path: Path) -> None:
    real = tmp_path / "real.json"
    real.write_text("old")
    os.chmod(real, 0o600)
    link = tmp_path / "latest.json"
    link.symlink_to(real)
    res = run("scan", "--input", str(GOOD_EXPORT), "--as-of", AS_OF, "-f", "json", "-o", str(link))
    assert res.returncode == 0, res.stderr
    assert link.is_symlink() and json.loads(real.read_text())["schema"] == "nhiscan/v1"
    assert real.stat().st_mode & 0o777 == 0o600
    new = tmp_path / "new.json"
    umask = os.umask(0o027)
    try:
        assert run("scan", "--input", str(GOOD_EXPORT), "-f", "json", "-o", str(new)).returncode == 0
    finally:
        os.umask(umask)
    assert new.stat().st_mode & 0o777 == 0o640


def test_failed_baseline_write_keeps_the_previous_baseline(tmp_path: Path) -> None:
    out = tmp_path / "b" / "baseline.json"
    out.parent.mkdir()
    out.write_bytes(b"previous")
    export = big_inventory(tmp_path / "inv.json", 200)
    res = run("baseline", "create", "--input", str(export), "-o", str(out), preexec_fn=_limit_file_size)
    assert res.returncode == 2, res.stderr
    assert errors(res.stderr) == [f"nhiscan: error: {out}: cannot write: File too large"]
    assert out.read_bytes() == b"previous"
    assert os.listdir(out.parent) == ["baseline.json"]


# -- --output onto an input ------------------------------------------------------------------------
def _refused(res: subprocess.CompletedProcess[bytes], output: Path) -> str:
    assert res.returncode == 2, res.stderr
    errs = errors(res.stderr)
    assert len(errs) == 1 and errs[0].startswith(f"nhiscan: error: --output {output}: "), errs
    assert ERROR_LINE.match(errs[0])
    return errs[0]


def test_output_onto_input_file_is_refused(tmp_path: Path) -> None:
    export = tmp_path / "in.json"
    export.write_text(GOOD_TEXT)
    link = tmp_path / "link.json"
    link.symlink_to(export)
    hard = tmp_path / "hard.json"
    os.link(export, hard)
    for output in (export, link, hard):
        res = run("scan", "--input", str(export), "-f", "json", "-o", str(output))
        assert f"is the --input file {export}" in _refused(res, output)
        assert export.read_text() == GOOD_TEXT
    res = run("inventory", "--input", str(export), "-o", str(hard))
    _refused(res, hard)
    res = run("baseline", "create", "--input", str(export), "-o", str(link))
    _refused(res, link)
    assert export.read_text() == GOOD_TEXT


def test_output_into_input_directory_is_refused(tmp_path: Path) -> None:
    exports = tmp_path / "exports"
    exports.mkdir()
    (exports / "a.json").write_text(GOOD_TEXT)
    res = run("scan", "--input", str(exports), "-f", "json", "-o", str(exports / "a.json"))
    assert "in the --input directory" in _refused(res, exports / "a.json")
    elsewhere = tmp_path / "x.json"
    os.link(exports / "a.json", elsewhere)
    _refused(run("scan", "--input", str(exports), "-f", "json", "-o", str(elsewhere)), elsewhere)
    assert (exports / "a.json").read_text() == GOOD_TEXT


def test_output_onto_scanned_file_is_refused_but_new_files_and_own_reports_are_not(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    source = repo / "app.py"
    source.write_text("print('hello')\n")
    res = run("scan", str(repo), "-f", "json", "-o", str(source))
    assert f"inside the scanned path {repo}" in _refused(res, source)
    outside = tmp_path / "hardlink.py"
    os.link(source, outside)
    _refused(run("scan", str(repo), "-f", "json", "-o", str(outside)), outside)
    _refused(run("scan", str(source), "-f", "json", "-o", str(outside)), outside)
    assert source.read_text() == "print('hello')\n"
    # A new report inside the repository, and re-running the scan onto it, are fine.
    report = repo / "nhiscan.sarif"
    for _ in range(2):
        res = run("scan", str(repo), "-f", "sarif", "-o", str(report))
        assert res.returncode == 0, res.stderr
    assert json.loads(report.read_text())["runs"]


def test_output_onto_baseline_config_or_waivers_is_refused(tmp_path: Path) -> None:
    base = tmp_path / "baseline.json"
    assert run("baseline", "create", "--input", str(GOOD_EXPORT), "-o", str(base)).returncode == 0
    kept = base.read_bytes()
    res = run("scan", "--input", str(GOOD_EXPORT), "--baseline", str(base), "-f", "json", "-o", str(base))
    assert "is the --baseline file" in _refused(res, base)
    res = run(
        "baseline", "create", "--input", str(GOOD_EXPORT), "--config", str(tmp_path / "x"), "-o", str(base)
    )
    assert res.returncode == 2  # (a missing --config is its own error)
    config = tmp_path / "nhiscan.toml"
    config.write_text('fail_on = "critical"\n')
    res = run("scan", "--input", str(GOOD_EXPORT), "--config", str(config), "-f", "json", "-o", str(config))
    assert "is the --config file" in _refused(res, config)
    res = run("scan", "--input", str(GOOD_EXPORT), "-f", "json", "-o", "nhiscan.toml", cwd=tmp_path)
    assert "is the --config file" in _refused(res, Path("nhiscan.toml"))
    waivers = tmp_path / ".nhiscan-waivers.yaml"
    waivers.write_text("waivers: []\n")
    res = run("scan", "--input", str(GOOD_EXPORT), "-f", "json", "-o", str(waivers), cwd=tmp_path)
    assert "is the --waivers file" in _refused(res, waivers)
    assert base.read_bytes() == kept and config.read_text() == 'fail_on = "critical"\n'


def test_report_onto_its_own_input_is_refused(tmp_path: Path) -> None:
    saved = tmp_path / "scan.json"
    run("scan", "--input", str(GOOD_EXPORT), "-f", "json", "-o", str(saved))
    kept = saved.read_bytes()
    _refused(run("report", str(saved), "-f", "html", "-o", str(saved)), saved)
    assert saved.read_bytes() == kept


# -- stdout ----------------------------------------------------------------------------------------
@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
@pytest.mark.parametrize("command", [["scan", "--input", str(GOOD_EXPORT), "-f", "json"], ["rules"]])
def test_stdout_on_a_full_disk(command: list[str]) -> None:
    with open("/dev/full", "wb") as full:
        res = run(*command, stdout=full)
    assert res.returncode == 2, res.stderr
    assert errors(res.stderr) == ["nhiscan: error: stdout: cannot write: No space left on device"]


@pytest.mark.parametrize(
    "command",
    [
        ["scan", "--input", str(GOOD_EXPORT), "-f", "json"],
        ["rules"],
        ["rules", "--format", "json"],
        ["--help"],
    ],
)
def test_closed_pipe_ends_quietly(command: list[str]) -> None:
    r, w = os.pipe()
    os.close(r)  # the reader is gone before nhiscan writes anything (`| head -0`)
    try:
        res = run(*command, stdout=w)
    finally:
        os.close(w)
    assert res.returncode == 141, res.stderr
    assert not errors(res.stderr)
    assert b"Traceback" not in res.stderr and b"Exception ignored" not in res.stderr, res.stderr


def test_head_reading_one_line_of_a_big_report(tmp_path: Path) -> None:
    """`nhiscan scan ... | head -1`: the reader leaves after the first line of a large table."""
    export = big_inventory(tmp_path / "inv.json", 3000)
    shell = f"'{nhiscan_exe()}' scan --input '{export}' --as-of {AS_OF} -f json | head -1; echo \"status=${{PIPESTATUS[0]}}\""
    res = subprocess.run(
        ["bash", "-c", shell], capture_output=True, timeout=120, env={**os.environ, "NO_COLOR": "1"}
    )
    assert res.stdout.decode().splitlines()[-1] == "status=141", res.stderr
    assert b"Traceback" not in res.stderr and b"Exception ignored" not in res.stderr, res.stderr
