"""Every export kind nhiscan reads, under every hostile class that applies to a file: cut off
mid-record, replaced by binary bytes, a FIFO nobody writes to, unreadable, and names that carry
terminal escapes. Each bad file costs only itself: one `nhiscan: error:` line naming it (never its
content), exit 2, no traceback, the good export beside it still reported, all in bounded time."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import AS_OF, nhiscan_exe
from tests.hostile.harness import ERROR_LINE, hostile_scan
from tests.robustness.harness import EXPORTS, Export

CONTROL = "\x1b]8;;https://attacker.example/\x07click\x1b]8;;\x07\x1b[2J\x1b[1;1HALL CLEAR\u202e"


def _cut_mid_record(data: bytes) -> bytes:
    """The first half, cut inside a line so a CSV loses part of a record, not a whole one."""
    at = len(data) // 2
    while at < len(data) and data[at : at + 1] in (b"\n", b"\r", b",", b'"'):
        at += 1
    return data[: at + 1]


def _binary(data: bytes) -> bytes:
    return b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 8


MUTATIONS: dict[str, Callable[[bytes], bytes]] = {"truncated": _cut_mid_record, "binary": _binary}


def _arg(export: Export, path: Path) -> str:
    return f"{export.scope}={path}" if export.scope else str(path)


def _named(lines: list[str]) -> list[str]:
    return [Path(m.group("source")).name for ln in lines if (m := ERROR_LINE.match(ln))]


def _copies(tmp_path: Path, mutate: Callable[[bytes], bytes]) -> tuple[list[str], dict[str, Export]]:
    args: list[str] = []
    by_name: dict[str, Export] = {}
    for i, export in enumerate(EXPORTS):
        bad = tmp_path / f"{i:02d}-{export.provider}-{export.path.name}"
        bad.write_bytes(mutate(export.path.read_bytes()))
        by_name[bad.name] = export
        args += ["--input", _arg(export, bad)]
    return args, by_name


@pytest.mark.parametrize("kind", sorted(MUTATIONS))
def test_a_broken_copy_of_each_export_is_one_error_naming_it(kind: str, tmp_path: Path) -> None:
    args, by_name = _copies(tmp_path, MUTATIONS[kind])
    res = hostile_scan(tmp_path, *args, expect_code=2, timeout=120)
    assert sorted(_named(res.errors)) == sorted(by_name), res.cli.stderr


def test_a_fifo_with_no_writer_in_place_of_each_export_is_an_error_not_a_hang(tmp_path: Path) -> None:
    args: list[str] = []
    names = []
    for i, export in enumerate(EXPORTS[:4]):
        fifo = tmp_path / f"{i:02d}-{export.path.name}"
        os.mkfifo(fifo)
        names.append(fifo.name)
        args += ["--input", _arg(export, fifo)]
    res = hostile_scan(tmp_path, *args, expect_code=2, timeout=90)
    assert sorted(_named(res.errors)) == sorted(names), res.cli.stderr


def _without_dac(cmd: list[str]) -> list[str]:
    """Run as root without the capabilities that let root read any file, so modes are enforced."""
    caps = "-dac_override,-dac_read_search"
    return ["setpriv", "--bounding-set", caps, "--inh-caps", caps, "--", *cmd]


@pytest.mark.skipif(shutil.which("setpriv") is None, reason="needs util-linux setpriv to drop capabilities")
def test_an_unreadable_copy_of_each_export_is_one_error_naming_it(tmp_path: Path) -> None:
    args: list[str] = []
    names = []
    for i, export in enumerate(EXPORTS):
        bad = tmp_path / f"{i:02d}-{export.path.name}"
        shutil.copyfile(export.path, bad)
        bad.chmod(0)
        names.append(bad.name)
        args += ["--input", _arg(export, bad)]
    out = tmp_path / "result.json"
    cmd = [nhiscan_exe(), "scan", *args, "--as-of", AS_OF, "--format", "json", "--output", str(out)]
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200"}
    good = tmp_path / "good.json"
    shutil.copyfile(EXPORTS[-1].path, good)  # the nhiscan inventory fixture, readable
    proc = subprocess.run(
        _without_dac([*cmd, "--input", str(good)]),
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    if os.geteuid() == 0 and "Operation not permitted" in proc.stderr and "setpriv" in proc.stderr:
        pytest.skip("this container does not let setpriv drop capabilities")
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.returncode == 2, proc.stderr
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("nhiscan: error:")]
    assert sorted(_named(errors)) == sorted(names), proc.stderr
    assert json.loads(out.read_text("utf-8"))["identities"], "the readable export was lost"


def _poison_strings(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _poison_strings(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_poison_strings(v) for v in value]
    if (
        isinstance(value, str)
        and value
        and not value.startswith(("arn:", "/", "20", "{"))
        and "@" not in value
    ):
        return value + CONTROL
    return value


@pytest.mark.parametrize("fmt", ["table", "markdown", "csv"])
def test_names_from_every_json_export_reach_no_terminal_raw(fmt: str, tmp_path: Path) -> None:
    args: list[str] = []
    for i, export in enumerate(e for e in EXPORTS if e.path.suffix == ".json"):
        poisoned = tmp_path / f"{i:02d}-{export.path.name}"
        poisoned.write_text(json.dumps(_poison_strings(json.loads(export.path.read_text("utf-8")))), "utf-8")
        args += ["--input", _arg(export, poisoned)]
    proc = subprocess.run(
        [nhiscan_exe(), "scan", *args, "--as-of", AS_OF, "--format", fmt, "--fail-on", "none"],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200", "FORCE_COLOR": "1"},
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    for stream in (proc.stdout, proc.stderr):
        # colour codes that nhiscan itself emits are CSI ...m; nothing else may come from data
        stripped = re.sub(r"\x1b\[[0-9;]*m", "", stream)
        for ch in ("\x1b", "\x07", "\u202e"):
            assert ch not in stripped, (fmt, repr(stripped[max(0, stripped.find(ch) - 60) :][:120]))
    if fmt != "table":  # the table may shorten a long name; the other views show it whole, escaped
        assert "ALL CLEAR" in proc.stdout
