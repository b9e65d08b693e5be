"""Run the CLI so that file modes really deny access, also when the tests run as root.

Root ignores file modes through CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH. util-linux `setpriv`
(Essential on Debian, so on every Debian/pyenv machine and CI image) drops both from the
bounding and inheritable sets before exec-ing nhiscan; a probe checks the denial is real. As an
ordinary user the modes already apply and nothing is needed. Where neither holds, tests skip.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CliResult, run_cli

_DROP = "-dac_override,-dac_read_search"


@functools.cache
def prefix() -> tuple[str, ...] | None:
    """The command prefix that makes modes apply, or None when there is no way to."""
    if os.geteuid() != 0:
        return ()
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        return None
    cmd = (setpriv, "--bounding-set", _DROP, "--inh-caps", _DROP, "--")
    with tempfile.TemporaryDirectory() as tmp:
        probe = Path(tmp, "probe")
        probe.write_text("x", "utf-8")
        probe.chmod(0)
        proc = subprocess.run([*cmd, "cat", str(probe)], capture_output=True, check=False)
    return cmd if proc.returncode != 0 else None


def require() -> tuple[str, ...]:
    cmd = prefix()
    if cmd is None:
        pytest.skip("no way to deny file access here (root without util-linux setpriv)")
    return cmd


def run_cli_denied(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: int = 300
) -> CliResult:
    """tests.conftest.run_cli, with file modes enforced."""
    return run_cli(*args, cwd=cwd, env=env, timeout=timeout, prefix=require())


@pytest.fixture
def denied(monkeypatch: pytest.MonkeyPatch) -> Any:
    """hostile_scan runs the CLI with file modes enforced while this fixture is active."""
    require()
    from tests.hostile import harness

    monkeypatch.setattr(harness, "run_cli", run_cli_denied)
    return run_cli_denied
