"""The arguments of a plain `nhiscan scan` command line, read without Typer's option machinery.

Typer converts every parameter of the invoked command through a pydantic TypeAdapter it builds at
each run: importing pydantic and building the adapters of `scan`'s parameters costs about 0.1 s
of CPU per run, as much as scanning a few dozen workflow files (benchmarks/ci_bench.py), for
options that are plain strings, paths and flags. A `scan` command line made only of PATHs and the
options below is read here into exactly the keyword arguments Typer passes to `scan`
(tests/test_cli_fast.py compares the two on many command lines); every other command line
(another command, any other option, help, a `--`, a word starting with `-` where a value is
expected, a short option with its value attached, an empty word) returns None and goes to Typer
unchanged, so its errors and help stay Typer's.
"""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

# option word -> (scan's parameter, kind): a string, a path, a repeatable string, or a flag
_SCAN_OPTIONS: dict[str, tuple[str, str]] = {
    "--input": ("input", "list"),
    "-i": ("input", "list"),
    "--format": ("format", "str"),
    "-f": ("format", "str"),
    "--output": ("output", "path"),
    "-o": ("output", "path"),
    "--fail-on": ("fail_on", "str"),
    "--as-of": ("as_of", "str"),
    "--config": ("config", "path"),
    "--baseline": ("baseline", "path"),
    "--waivers": ("waivers", "path"),
    "--history": ("history", "flag"),
}

# What Typer passes for a parameter that is not on the command line.
SCAN_DEFAULTS: dict[str, Any] = {
    "paths": None,
    "input": None,
    "aws": False,
    "aws_profile": None,
    "aws_org": False,
    "aws_role": None,
    "aws_last_accessed": False,
    "gcp_project": None,
    "azure_subscription": None,
    "k8s_context": None,
    "history": False,
    "format": "table",
    "output": None,
    "fail_on": None,
    "as_of": None,
    "config": None,
    "baseline": None,
    "waivers": None,
}


def scan_arguments(argv: Sequence[str]) -> dict[str, Any] | None:
    """`scan`'s keyword arguments for ``argv`` (the words after the program name), or None."""
    if not argv or argv[0] != "scan" or any(k.endswith("_COMPLETE") for k in os.environ):
        return None  # not `scan`, or a shell-completion request (Typer answers those)
    args = dict(SCAN_DEFAULTS)
    paths: list[str] = []
    inputs: list[str] = []
    given: set[str] = set()
    words = list(argv[1:])
    i = 0
    while i < len(words):
        word = words[i]
        i += 1
        if not word:
            return None
        if not word.startswith("-"):
            paths.append(word)
            continue
        name, eq, value = word.partition("=") if word.startswith("--") else (word, "", "")
        spec = _SCAN_OPTIONS.get(name)
        if spec is None:
            return None
        param, kind = spec
        if kind == "flag":
            if eq:
                return None
            args[param] = True
            continue
        if not eq:
            if i >= len(words):
                return None
            value = words[i]
            i += 1
        if not value or value.startswith("-"):
            return None
        if kind == "list":
            inputs.append(value)
            continue
        if param in given:
            return None
        given.add(param)
        args[param] = Path(value) if kind == "path" else value
    args["paths"] = paths or None
    args["input"] = inputs or None
    return args


def run_directly(command: Callable[..., object], kwargs: dict[str, Any]) -> object:
    """``command(**kwargs)`` as Typer's main (standalone_mode=False) runs a command's function:
    Exit gives its code, Ctrl-D aborts, Ctrl-C is exit 130, a broken pipe on the terminal exit 1
    with stdout and stderr muted (nhiscan.cli.main then exits 141)."""
    import typer

    try:
        try:
            return command(**kwargs)
        except EOFError as exc:
            typer.echo(err=True)
            raise typer.Abort() from exc
        except KeyboardInterrupt as exc:
            raise typer.Exit(130) from exc
        except OSError as exc:
            if exc.errno != errno.EPIPE:
                raise
            from typer._click.utils import PacifyFlushWrapper

            sys.stdout = PacifyFlushWrapper(sys.stdout)
            sys.stderr = PacifyFlushWrapper(sys.stderr)
            sys.exit(1)
    except typer.Exit as exc:
        return exc.exit_code
