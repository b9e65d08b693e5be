"""Shared test helpers. End-to-end tests run the installed `nhiscan` console script."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
AS_OF = "2026-11-01"


def nhiscan_exe() -> str:
    """The console script installed next to this interpreter (falls back to PATH)."""
    candidate = Path(sys.executable).parent / "nhiscan"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("nhiscan")
    if not found:
        raise RuntimeError("nhiscan is not installed: run pip install -e '.[test]'")
    return found


@dataclass
class CliResult:
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


def run_cli(
    *args: str,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    timeout: int = 300,
    prefix: tuple[str, ...] = (),
) -> CliResult:
    """Run the installed CLI; ``prefix`` is a command to run it under (e.g. tests/hostile/no_dac.py)."""
    full_env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200", **(env or {})}
    proc = subprocess.run(
        [*prefix, nhiscan_exe(), *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=full_env,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture
def cli() -> Any:
    return run_cli
