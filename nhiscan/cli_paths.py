"""`nhiscan paths [IDENTITY] [PATH ...] [--to admin|IDENTITY]`: who can become whom, and how.

Registered on the application in cli.py, whose helpers (one-line errors, atomic output, the
configuration builder) it uses; the same inputs as `scan` (cli_options.InputOptions). Imports stay
inside the function so startup stays instant.

Exit codes: with ``--to``, 1 when a path exists and 0 when none does (a gate, like `scan`'s
findings); without it, 0. 2 for usage and input errors (an unknown or ambiguous IDENTITY is one
clear line); when some inputs fail, the answer still covers the others and the exit code is 2.
"""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from nhiscan.cli_options import InputOptions, OutputOpt, with_input_options

EVERY = "-"


@with_input_options()
def paths_command(
    identity: Annotated[
        Optional[str],  # noqa: UP045 - Typer needs Optional on 3.10
        typer.Argument(
            metavar="IDENTITY",
            help="Start here: an identity's id, ARN, email or name (- or omitted: every non-human "
            "identity, with --to).",
            show_default=False,
        ),
    ] = None,
    to: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(
            "--to", metavar="admin|IDENTITY", help="Only the shortest path to admin or to IDENTITY."
        ),
    ] = None,
    *,
    opts: InputOptions,
    format: Annotated[str, typer.Option("--format", "-f", metavar="FORMAT", help="table | json")] = "table",
    output: OutputOpt = None,
) -> None:
    """Escalation paths: what an identity can become, or who reaches admin, hop by hop."""
    from nhiscan.cli import (
        _build_config,
        _check_choice,
        _fail,
        _line,
        _refuse_overwriting_inputs,
        _report_errors,
        _write,
    )

    _check_choice("--format", format, ("table", "json"))
    source_text = None if identity in (None, EVERY) else identity
    if source_text is None and to is None:
        _fail("give an IDENTITY, --to admin|IDENTITY, or both (see `nhiscan paths --help`)")
    from nhiscan.analyze.graph import build
    from nhiscan.analyze.graph.query import ADMIN, query, resolve
    from nhiscan.core import collect_inventory
    from nhiscan.errors import NhiscanError
    from nhiscan.report import paths_format

    cfg = _build_config(opts)
    _refuse_overwriting_inputs(output, cfg)
    try:
        inv, errors = collect_inventory(cfg)
    except NhiscanError as exc:
        _fail(exc.message)
    graph = build(inv, cfg.as_of)
    try:
        source = resolve(graph, source_text) if source_text is not None else None
        target = None if to is None else ADMIN if to.strip().lower() == ADMIN else resolve(graph, to)
        rows = query(graph, source, target)
    except NhiscanError as exc:
        hint = ""
        if source_text is not None and opts.paths and "no identity" in exc.message:
            hint = " (to give repository PATHs without an IDENTITY, write - in its place)"
        _report_errors(errors)
        _fail(exc.message + hint)
    if format == "json":
        _write(
            paths_format.render_json(rows, as_of=cfg.as_of, source=source, target=target, errors=errors),
            output,
        )
    else:
        _write(paths_format.render_table(graph, rows, source=source, target=target), output)
    if source is not None and target == ADMIN and graph.level(source) == ADMIN:
        typer.echo(_line(f"nhiscan: note: {graph.short(source)} is admin itself"), err=True)
    _report_errors(errors)
    if errors:
        raise typer.Exit(2)
    raise typer.Exit(1 if target is not None and rows else 0)
