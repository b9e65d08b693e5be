"""`nhiscan diff OLD.json NEW.json`: the command line of nhiscan/diff.py.

Registered on the application in cli.py, whose helpers (one-line errors, atomic output, the
--fail-on threshold) it uses; imports stay inside the function so startup stays instant.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from nhiscan.cli_options import OutputOpt


def diff_command(
    old_json: Annotated[
        Path, typer.Argument(metavar="OLD.json", help="The earlier result (saved with --format json).")
    ],
    new_json: Annotated[
        Path, typer.Argument(metavar="NEW.json", help="The later result (saved with --format json).")
    ],
    format: Annotated[
        str, typer.Option("--format", "-f", metavar="FORMAT", help="table | json | markdown")
    ] = "table",
    output: OutputOpt = None,
    fail_on: Annotated[
        str,
        typer.Option(
            "--fail-on",
            metavar="SEVERITY",
            help="Exit 1 on new or worse findings at or above: critical | high | medium | low | none.",
        ),
    ] = "high",
) -> None:
    """Compare two saved results: new, resolved and changed findings, new and removed identities."""
    import shutil

    from nhiscan.cli import SEVERITIES, _check_choice, _fail, _fail_on, _line, _write

    _check_choice("--format", format, ("table", "json", "markdown"))
    _check_choice("--fail-on", fail_on, SEVERITIES)
    from nhiscan import secret_ids
    from nhiscan.diff import compare, load_result
    from nhiscan.errors import NhiscanError
    from nhiscan.output import clobbered_input
    from nhiscan.report.diff_format import render

    files = [("OLD.json", str(old_json)), ("NEW.json", str(new_json))]
    if output is not None and (why := clobbered_input(output, files=files)):
        _fail(f"--output {output}: {why}; not overwriting a result being compared")
    try:
        secret_ids.check_key()
    except secret_ids.FingerprintKeyError as exc:
        _fail(str(exc))
    try:
        result = compare(load_result(str(old_json)), load_result(str(new_json)))
    except NhiscanError as exc:
        _fail(exc.message)
    threshold = _fail_on(fail_on, None)
    width = shutil.get_terminal_size((80, 24)).columns
    _write(render(result, format, threshold, width), output)
    if format != "table" or output is not None:
        for warning in result.warnings:
            typer.echo(_line(f"nhiscan: warning: {warning}"), err=True)
    raise typer.Exit(1 if result.failing(threshold) else 0)
