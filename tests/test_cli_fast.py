"""A plain `nhiscan scan` command line is read without Typer's conversion (nhiscan/cli_fast.py):
the arguments must be exactly those Typer passes, every other command line must go to Typer, and
the installed command must answer alike either way (output, stderr, exit code)."""

from __future__ import annotations

import functools
import sys
from pathlib import Path
from typing import Any

import pytest

from nhiscan import cli
from nhiscan.cli_fast import SCAN_DEFAULTS, scan_arguments

ROOT = Path(__file__).resolve().parent.parent


def typer_arguments(argv: list[str]) -> dict[str, Any]:
    """What Typer hands to `scan` for ``argv`` (the command's function replaced by a recorder)."""
    seen: dict[str, Any] = {}

    @functools.wraps(cli.scan)
    def recorder(**kwargs: Any) -> None:
        seen.update(kwargs)

    commands = [c for c in cli.app.registered_commands if c.callback is cli.scan]
    assert len(commands) == 1
    commands[0].callback = recorder
    try:
        code = cli.app(argv, standalone_mode=False)
    finally:
        commands[0].callback = cli.scan
    assert code in (None, 0)
    return seen


PLAIN = [
    ["scan"],
    ["scan", "repo"],
    ["scan", "a", "b/", "./c", "~/d", "e f"],
    ["scan", "repo", "--format", "json", "-o", "out.json"],
    ["scan", "repo", "--format=sarif", "--output=dir/out.sarif"],
    ["scan", "-f", "json", "repo", "--history", "other"],
    ["scan", "--input", "aws=exports/gaad.json", "-i", "x.json", "--input=prod=y.json"],
    ["scan", "repo", "--fail-on", "low", "--as-of", "2025-01-31", "--config", "nhiscan.toml"],
    ["scan", "repo", "--baseline", "b.json", "--waivers", ".nhiscan-waivers.yaml", "--history", "--history"],
    ["scan", "repo", "-o", "/abs/path/r.json", "--as-of", "2020-02-29"],
]


@pytest.mark.parametrize("argv", PLAIN, ids=[" ".join(a) for a in PLAIN])
def test_same_arguments_as_typer(argv: list[str]) -> None:
    fast = scan_arguments(argv)
    assert fast is not None
    expected = typer_arguments(argv)
    assert fast == expected
    assert {k: type(v) for k, v in fast.items()} == {k: type(v) for k, v in expected.items()}


def test_defaults_are_typers() -> None:
    assert typer_arguments(["scan"]) == SCAN_DEFAULTS


LEFT_TO_TYPER = [
    [],
    ["--version"],
    ["--help"],
    ["scan", "--help"],
    ["rules"],
    ["inventory", "repo"],
    ["scan", "repo", "--aws"],
    ["scan", "--gcp-project", "p"],
    ["scan", "-fjson", "repo"],
    ["scan", "-f=json", "repo"],
    ["scan", "repo", "-o"],
    ["scan", "repo", "-o", "-"],
    ["scan", "repo", "--format="],
    ["scan", "repo", "--history=yes"],
    ["scan", "--", "repo"],
    ["scan", "-"],
    ["scan", ""],
    ["scan", "--formats", "json"],
    ["scan", "repo", "-f", "json", "-f", "sarif"],  # a single-valued option twice
    ["scan", "repo", "-o", "a.json", "--output", "b.json"],
]


@pytest.mark.parametrize("argv", LEFT_TO_TYPER, ids=[" ".join(a) or "(none)" for a in LEFT_TO_TYPER])
def test_other_command_lines_go_to_typer(argv: list[str]) -> None:
    assert scan_arguments(argv) is None


def test_completion_requests_go_to_typer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("_NHISCAN_COMPLETE", "bash_source")
    assert scan_arguments(["scan", "repo"]) is None


CASES = {
    # each: (the fast path's command line, the same one written so that only Typer reads it)
    "a scan to stdout": (
        ["scan", "fixtures/repos/acme-web", "-f", "json", "--as-of", "2026-01-01"],
        ["scan", "fixtures/repos/acme-web", "-fjson", "--as-of", "2026-01-01"],
    ),
    "an unknown format": (["scan", "fixtures/repos", "-f", "yaml"], ["scan", "fixtures/repos", "-fyaml"]),
    "nothing to scan": (["scan", "-f", "json"], ["scan", "-fjson"]),
    "a bad date": (
        ["scan", "x", "-f", "json", "--as-of", "soon"],
        ["scan", "x", "-fjson", "--as-of", "soon"],
    ),
    "a missing path": (["scan", "no/such/dir", "-f", "csv"], ["scan", "no/such/dir", "-fcsv"]),
}


@pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))
def test_installed_command_answers_alike(cli: Any, case: tuple[list[str], list[str]]) -> None:
    fast_argv, typer_argv = case
    assert scan_arguments(fast_argv) is not None
    assert scan_arguments(typer_argv) is None
    fast = cli(*fast_argv, cwd=ROOT)
    slow = cli(*typer_argv, cwd=ROOT)
    assert (fast.code, fast.stdout, fast.stderr) == (slow.code, slow.stdout, slow.stderr)
    assert fast.code in (0, 1, 2)


def test_fast_path_skips_pydantic(tmp_path: Path) -> None:
    """The point of it: a plain scan does not import pydantic (Typer's converter)."""
    import subprocess

    probe = (
        "import sys\n"
        "from nhiscan import cli\n"
        f"sys.argv = ['nhiscan', 'scan', {str(tmp_path)!r}, '-f', 'json', '-o', {str(tmp_path / 'r.json')!r}]\n"
        "try:\n    cli.main()\nexcept SystemExit as e:\n    code = e.code\n"
        "print(code, 'pydantic' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["0", "False"]
    assert (tmp_path / "r.json").exists()
