"""Command line: parse options, build a ScanConfig, call the core, pick a reporter.

Nothing heavy is imported at module level: cloud SDKs load inside the sources that need them and
the analysis loads on first use, so `nhiscan --help` and `nhiscan --version` stay instant.
"""

from __future__ import annotations

import errno
import os
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn, Optional

import typer

from nhiscan import __version__
from nhiscan.cli_diff import diff_command
from nhiscan.cli_options import InputOptions, OutputOpt, ShardOpt, with_input_options
from nhiscan.cli_paths import paths_command
from nhiscan.cli_values import Command, Group

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from nhiscan.config import ScanConfig
    from nhiscan.model import Report, Severity, SourceError
    from nhiscan.report import Format

app = typer.Typer(
    name="nhiscan",
    cls=Group,
    help="Inventory and audit non-human identities: cloud service accounts, keys, roles, tokens and "
    "leaked secrets, scored and mapped to the OWASP NHI Top 10 (2025).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
baseline_app = typer.Typer(
    cls=Group, help="Create baselines so CI fails only on new findings.", no_args_is_help=True
)
app.add_typer(baseline_app, name="baseline")

FORMATS = ("table", "json", "sarif", "csv", "markdown", "html")
SEVERITIES = ("critical", "high", "medium", "low", "none")  # = config.FAIL_ON_CHOICES (a test checks)


def _encodable(text: str) -> str:
    """Text that UTF-8 can encode: lone surrogates (from `\\udcff` escapes in an input's JSON, or
    file names that are not UTF-8) show as backslash escapes instead of failing the write."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def _line(text: str) -> str:
    """One line of stderr, whatever a file or record name holds: controls, escape sequences, bidi
    and invisible characters show escaped (nhiscan.display), so no input can drive the terminal."""
    from nhiscan.display import printable

    return printable(text)


def _fail(message: str) -> NoReturn:
    typer.echo(f"nhiscan: error: {_line(message)}", err=True)
    raise typer.Exit(2)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"nhiscan {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")
    ] = False,
) -> None:
    """nhiscan: non-human identity scanner."""


def _parse_as_of(value: str | None) -> datetime:
    if not value:
        return datetime.now(timezone.utc)
    try:
        day = datetime.strptime(value, "%Y-%m-%d")
    except ValueError:
        _fail(f"--as-of: expected a date as YYYY-MM-DD, got {value!r}")
    return day.replace(tzinfo=timezone.utc)


def _build_config(
    opts: InputOptions,
    *,
    baseline: Path | None = None,
    waivers: Path | None = None,
    shard: str | None = None,
) -> ScanConfig:
    """The ScanConfig of a command's inputs (cli_options.InputOptions); usage errors exit 2."""
    from nhiscan.config import InputSpec, ScanConfig, load_settings
    from nhiscan.errors import NhiscanError
    from nhiscan.shard import parse_shard

    if opts.aws_org and not opts.aws_role:
        _fail("--aws-org needs --aws-role NAME (the role to assume in each member account)")
    if opts.aws_role and not opts.aws_org:
        _fail("--aws-role goes with --aws-org")
    if opts.aws_last_accessed and not (opts.aws or opts.aws_org or opts.aws_profile is not None):
        _fail("--aws-last-accessed goes with --aws (or --aws-profile / --aws-org)")
    try:
        settings = load_settings(str(opts.config) if opts.config else None)
        part = parse_shard(shard) if shard is not None else None
    except NhiscanError as exc:
        _fail(exc.message)
    cfg = ScanConfig(
        as_of=_parse_as_of(opts.as_of),
        paths=tuple(opts.paths or ()),
        inputs=tuple(InputSpec.parse(v) for v in opts.input or ()),
        aws=opts.aws or opts.aws_org or opts.aws_profile is not None,
        aws_profile=opts.aws_profile,
        aws_org=opts.aws_org,
        aws_role=opts.aws_role,
        aws_last_accessed=opts.aws_last_accessed,
        gcp_projects=tuple(opts.gcp_project or ()),
        azure_subscriptions=tuple(opts.azure_subscription or ()),
        k8s_context=opts.k8s_context,
        history=opts.history,
        baseline=str(baseline) if baseline else None,
        waivers=str(waivers) if waivers else None,
        settings=settings,
        progress=sys.stderr.isatty(),
        shard=part,
    )
    if not (
        cfg.paths or cfg.inputs or cfg.aws or cfg.gcp_projects or cfg.azure_subscriptions or cfg.k8s_context
    ):
        _fail("nothing to scan: give PATHs, --input FILE, or a live source such as --aws")
    return cfg


_stdout_closed = False  # the reader of stdout went away (`nhiscan ... | head -1`)


def _write(text: str, output: Path | None) -> None:
    """stdout, or FILE replaced atomically (nhiscan.output); a failure is one line naming it."""
    _write_pieces((text,), output)


def _write_pieces(pieces: Iterable[str], output: Path | None) -> None:
    """``_write`` for a document encoded as it is written (nhiscan.model.jsonstream)."""
    global _stdout_closed
    from nhiscan.model.jsonstream import chunked
    from nhiscan.output import write_pieces, write_stdout_pieces

    text = (_encodable(piece) for piece in chunked(pieces))
    try:
        if output is None:
            write_stdout_pieces(text)
        else:
            write_pieces(output, text)
    except BrokenPipeError:
        if output is not None:
            _fail(f"{output}: cannot write: {os.strerror(errno.EPIPE)}")
        _stdout_closed = True  # like any Unix tool: stop writing, no message; exit 141 (main)
    except OSError as exc:
        _fail(f"{output or 'stdout'}: cannot write: {exc.strerror or exc}")


def _refuse_overwriting_inputs(output: Path | None, cfg: ScanConfig) -> None:
    """Exit 2 before scanning when --output would overwrite one of the scan's own inputs."""
    from nhiscan.output import clobbered_scan_input

    why = clobbered_scan_input(output, cfg) if output is not None else None
    if why:
        _fail(f"--output {output}: {why}; not overwriting an input of this scan")


def _report_errors(errors: Sequence[SourceError]) -> None:
    """One stderr line per failed input or source, naming it."""
    for err in errors:
        typer.echo(f"nhiscan: error: {_line(err.source)}: {_line(err.message)}", err=True)


def _report_skipped(report: Report) -> None:
    """One note per source and reason for files nhiscan did not read, or read as its own outputs
    (never an error: the exit code is unchanged)."""
    from nhiscan.sources.repo.walker import MAX_FILE_BYTES

    limit = MAX_FILE_BYTES // (1024 * 1024)
    for src in report.inventory.sources:
        for files, what in (
            (
                src.skipped,
                "file change(s) in git history not fully read (a line over 1 MiB, or added text "
                f"over {limit} MiB)"
                if src.kind == "git-history"
                else f"file(s) over {limit} MiB not scanned for secrets",
            ),
            (
                src.nhiscan_files,
                "file(s) written by nhiscan (reports, baselines, inventories), scanned without "
                "reporting the key ids, digests and inventory values they name",
            ),
            (src.links_not_followed, "symbolic link(s) leading outside the tree not followed"),
        ):
            if files:
                shown = ", ".join(files[:5]) + (f" and {len(files) - 5} more" if len(files) > 5 else "")
                typer.echo(_line(f"nhiscan: note: {src.path}: {len(files)} {what}: {shown}"), err=True)


def _report_expired_waivers(report: Report) -> None:
    seen: set[tuple[object, object]] = set()
    for f in report.findings:
        w = f.waiver
        if w and w.get("expired") and (w.get("source"), w.get("entry")) not in seen:
            seen.add((w.get("source"), w.get("entry")))
            typer.echo(
                _line(
                    f"nhiscan: warning: {w.get('source')}: waiver entry #{w.get('entry')} expired on "
                    f"{w.get('expires')}; its findings count again"
                ),
                err=True,
            )


def _emit(report: Report, fmt: Format, output: Path | None) -> None:
    from nhiscan.report import renderer

    if fmt.value == "json":  # the large one: written record by record as it is encoded
        from nhiscan.report.json_format import render_pieces

        _write_pieces(render_pieces(report), output)
        return
    render = renderer(fmt)
    terminal = output is None and fmt.value == "table" and sys.stdout.isatty()
    _write(render(report, terminal=terminal), output)


def _fail_on(value: str | None, configured: str | None) -> Severity | None:
    """The threshold: --fail-on, else the config file's fail_on, else high; "none" means never."""
    from nhiscan.model import Severity

    choice = value or configured or "high"
    return None if choice == "none" else Severity(choice)


def _check_choice(option: str, value: str | None, choices: tuple[str, ...]) -> None:
    if value is not None and value not in choices:
        _fail(f"{option}: {value!r} is not one of {', '.join(choices)}")


@app.command(cls=Command)
@with_input_options(after="fail_on")
def scan(
    opts: InputOptions,
    format: Annotated[
        str,
        typer.Option("--format", "-f", metavar="FORMAT", help="table | json | sarif | csv | markdown | html"),
    ] = "table",
    output: OutputOpt = None,
    fail_on: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(
            "--fail-on",
            metavar="SEVERITY",
            help="Exit 1 on findings at or above: critical | high | medium | low | none (default high).",
        ),
    ] = None,
    baseline: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option(
            "--baseline",
            metavar="FILE",
            help="Findings recorded in this baseline are reported as waived, not failed.",
        ),
    ] = None,
    waivers: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option(
            "--waivers",
            metavar="FILE",
            help="Waivers file (reason, owner, expiry per entry; default ./.nhiscan-waivers.yaml).",
        ),
    ] = None,
) -> None:
    """Scan cloud exports, live accounts and repositories; report findings and exit 0/1/2."""
    _check_choice("--format", format, FORMATS)
    _check_choice("--fail-on", fail_on, SEVERITIES)
    from nhiscan.core import run_scan
    from nhiscan.errors import NhiscanError
    from nhiscan.report import Format

    cfg = _build_config(opts, baseline=baseline, waivers=waivers)
    _refuse_overwriting_inputs(output, cfg)
    try:
        report = run_scan(cfg)
    except NhiscanError as exc:
        _fail(exc.message)
    _emit(report, Format(format), output)
    _report_skipped(report)
    _report_expired_waivers(report)
    _report_errors(report.errors)
    from nhiscan.analyze.engine import exit_code

    raise typer.Exit(exit_code(report, _fail_on(fail_on, cfg.settings.fail_on)))


@app.command(cls=Command)
@with_input_options()
def inventory(
    opts: InputOptions,
    output: OutputOpt = None,
    shard: ShardOpt = None,
) -> None:
    """Collect and normalize only; write the inventory JSON (re-read later with `scan --input`)."""

    from nhiscan.core import collect_inventory
    from nhiscan.model.jsonstream import iter_document
    from nhiscan.model.serialize import inventory_document

    cfg = _build_config(opts, shard=shard)
    _refuse_overwriting_inputs(output, cfg)
    inv, errors = collect_inventory(cfg)
    _write_pieces(iter_document(inventory_document(inv, cfg.as_of, __version__, encoded=True)), output)
    _report_errors(errors)
    raise typer.Exit(2 if errors else 0)


@app.command(cls=Command)
def rules(
    rule_id: Annotated[
        Optional[str],  # noqa: UP045
        typer.Argument(metavar="RULE_ID", help="Explain one rule.", show_default=False),
    ] = None,
    format: Annotated[
        str, typer.Option("--format", "-f", metavar="FORMAT", help="table | json | markdown")
    ] = "table",
) -> None:
    """List the rule catalog, or explain one rule."""
    _check_choice("--format", format, ("table", "json", "markdown"))
    from nhiscan.errors import NhiscanError
    from nhiscan.report.rules_view import render_catalog, render_rule

    try:
        text = (
            render_rule(rule_id, format) if rule_id else render_catalog(format, terminal=sys.stdout.isatty())
        )
    except NhiscanError as exc:
        _fail(exc.message)
    _write(text, None)


@app.command(cls=Command)
def report(
    scan_json: Annotated[
        Path, typer.Argument(metavar="SCAN.json", help="A result saved with --format json.")
    ],
    format: Annotated[
        str,
        typer.Option("--format", "-f", metavar="FORMAT", help="table | json | sarif | csv | markdown | html"),
    ] = "table",
    output: OutputOpt = None,
    fail_on: Annotated[
        str,
        typer.Option(
            "--fail-on",
            metavar="SEVERITY",
            help="Exit 1 on saved findings at or above this severity (default none).",
        ),
    ] = "none",
) -> None:
    """Re-render a saved JSON result in another format."""
    import json

    _check_choice("--format", format, FORMATS)
    _check_choice("--fail-on", fail_on, SEVERITIES)
    from nhiscan import secret_ids
    from nhiscan.analyze.engine import fails_threshold
    from nhiscan.errors import InputError
    from nhiscan.model.serialize_report import report_from_dict
    from nhiscan.output import clobbered_input
    from nhiscan.report import Format
    from nhiscan.sources.stream import read_input_bytes

    if output is not None and (why := clobbered_input(output, files=[("SCAN.json", str(scan_json))])):
        _fail(f"--output {output}: {why}; not overwriting the result being rendered")

    try:
        secret_ids.check_key()
    except secret_ids.FingerprintKeyError as exc:
        _fail(str(exc))
    try:  # read like any input: a FIFO nothing writes to cannot hang it (sources/stream.py)
        data = json.loads(read_input_bytes(str(scan_json)).decode("utf-8"))
        saved = report_from_dict(data)
    except InputError as exc:
        _fail(f"{scan_json}: {exc.detail}")
    except RecursionError:
        _fail(f"{scan_json}: not a readable JSON result: nested too deeply")
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        _fail(f"{scan_json}: not a readable JSON result: {exc}")
    except (KeyError, TypeError, ValueError) as exc:
        _fail(f"{scan_json}: not an nhiscan JSON result: {exc}")
    _emit(saved, Format(format), output)
    # Input errors were reported when the scan ran; here only the saved findings decide.
    raise typer.Exit(1 if fails_threshold(saved, _fail_on(fail_on, None)) else 0)


# `nhiscan diff` lives in its own module (cli_diff.py); registered here to keep the commands' order.
app.command("diff", cls=Command)(diff_command)
app.command("paths", cls=Command)(paths_command)


@baseline_app.command("create", cls=Command)
@with_input_options()
def baseline_create(
    opts: InputOptions,
    output: Annotated[
        Path, typer.Option("--output", "-o", metavar="FILE", help="Baseline file to write.")
    ] = Path(".nhiscan-baseline.json"),
) -> None:
    """Record the current findings; later scans with --baseline fail only on new ones."""

    from nhiscan.baseline import baseline_dict
    from nhiscan.core import run_scan
    from nhiscan.errors import NhiscanError
    from nhiscan.model.serialize import dumps_document

    cfg = _build_config(opts)
    _refuse_overwriting_inputs(output, cfg)
    try:
        result = run_scan(cfg)
    except NhiscanError as exc:
        _fail(exc.message)
    _write(dumps_document(baseline_dict(result)), output)
    typer.echo(_line(f"nhiscan: baseline of {len(result.findings)} findings written to {output}"), err=True)
    _report_errors(result.errors)
    raise typer.Exit(2 if result.errors else 0)


def main() -> None:
    import gc

    from nhiscan import lifecycle

    lifecycle.install()  # SIGINT / SIGTERM / SIGHUP end the whole scan at once (nhiscan.lifecycle)

    # A scan builds large, long-lived, mostly acyclic object graphs (identities, grants, findings).
    # At the default gen-0 threshold (700) the cyclic collector walks them again and again: a third
    # of the run time for 50,000 identities (benchmarks/aws_scale.py). Collecting less often keeps
    # the scan linear in size; peak memory is the same, as almost nothing here forms cycles.
    gc.set_threshold(100_000, 50, 100)
    # While inputs are read, large buffers freed (each shard inventory's bytes, text and parser
    # buffer) are reused by the next file instead of unmapped and faulted in again (heapkeep.py).
    from nhiscan import heapkeep

    heapkeep.allow()
    try:
        code = app(standalone_mode=False)
    except SystemExit:
        # click's answer to a closed stdout (while printing help): exit 1 after muting stdout
        if "PacifyFlushWrapper" in type(sys.stdout).__name__:
            raise SystemExit(lifecycle.EXIT_BROKEN_PIPE) from None
        raise
    except typer.Abort:
        typer.echo("nhiscan: error: aborted", err=True)
        raise SystemExit(130) from None
    except Exception as exc:
        # Typer's usage errors (unknown option, missing value, unknown command): one line in
        # nhiscan's own form, like every other error, instead of click's usage block.
        message, status = getattr(exc, "format_message", None), getattr(exc, "exit_code", None)
        if not callable(message) or not isinstance(status, int):
            raise
        text = str(message())
        if "\n" in text:  # a command group called without its subcommand: the message is its help
            typer.echo(text, err=True)
            raise SystemExit(status) from None
        command = getattr(getattr(exc, "ctx", None), "command_path", None) or "nhiscan"
        typer.echo(_line(f"nhiscan: error: {text.rstrip('.')} (see `{command} --help`)"), err=True)
        raise SystemExit(status) from None
    if _stdout_closed:
        raise SystemExit(lifecycle.EXIT_BROKEN_PIPE)
    raise SystemExit(code if isinstance(code, int) else 0)
