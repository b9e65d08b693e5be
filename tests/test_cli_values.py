"""nhiscan.cli_values converts option values exactly as Typer's own (pydantic) conversion does."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from nhiscan.cli import app
from tests.conftest import FIXTURES, run_cli

typer_coercion = pytest.importorskip("typer._coercion", reason="this Typer converts through click types")

import typer.main  # noqa: E402

from nhiscan.cli_values import PlainValues  # noqa: E402

ODD = [
    None,
    "x",
    "",
    "-",
    " spaced value ",
    "\udcff-not-utf8.json",
    "a\x00b",
    "éß∂",
    (),
    ("a",),
    ("a", "b"),
    ["a", "b"],
    ("a", 1),
    Path("p.json"),
    b"bytes",
    7,
    True,
]


def _commands(cmd: Any) -> list[Any]:
    out = [cmd]
    for sub in getattr(cmd, "commands", {}).values():
        out.extend(_commands(sub))
    return out


def _converted(cmd: Any) -> list[tuple[Any, Any, PlainValues]]:
    found = []
    for command in _commands(typer.main.get_command(app)):
        ctx = command.context_class(command, info_name=command.name)
        for param in command.get_params(ctx):  # the --help option included
            conv = getattr(param, "_runtime_param", None)
            if isinstance(conv, PlainValues):
                found.append((ctx, param, conv))
    return found


def _outcome(fn: Any) -> tuple[str, Any]:
    try:
        value = fn()
    except Exception as exc:  # the same error, with the same message, is part of "the same"
        return ("error", (type(exc).__name__, str(exc)))
    return ("value", (type(value), value))


def test_every_plain_option_converts_as_typer_does(tmp_path: Path) -> None:
    found = _converted(app)
    kinds = {conv.kind for _, _, conv in found}
    assert kinds == {"str", "path", "str-list", "bool"}, kinds
    assert len(found) > 40  # every command's options, not a few
    existing = tmp_path / "exists.json"
    existing.write_text("{}")
    values = [*ODD, str(existing), str(tmp_path)]
    checked = 0
    for ctx, param, conv in found:
        theirs = typer_coercion.build_runtime_param(param.type_descriptor)
        for value in values:
            mine = _outcome(lambda: conv.coerce(value, param=param, ctx=ctx))  # noqa: B023
            want = _outcome(lambda: theirs.coerce(value, param=param, ctx=ctx))  # noqa: B023
            assert mine == want, (ctx.command.name, param.name, value)
            checked += 1
    assert checked == len(found) * len(values)


def test_plain_values_skip_pydantic_only_where_the_value_is_plain() -> None:
    found = {(ctx.command.name, p.name): (ctx, p, c) for ctx, p, c in _converted(app)}
    ctx, param, conv = found[("scan", "output")]
    assert conv.plain("out.json", param, ctx) == Path("out.json")
    assert conv.plain(b"out.json", param, ctx) is not None  # bytes: left to Typer
    ctx, param, conv = found[("scan", "input")]
    assert conv.plain(("a", "b"), param, ctx) == ["a", "b"]
    assert conv.plain("a", param, ctx) is not None and conv.plain("a", param, ctx) != ["a"]


PROBE = """
import sys
from nhiscan.cli import app
try:
    app(sys.argv[1:], standalone_mode=False)
except SystemExit:
    pass
print("pydantic" in sys.modules)
"""


def test_scan_with_every_value_kind_does_not_import_pydantic(tmp_path: Path) -> None:
    import subprocess
    import sys

    out = tmp_path / "r.json"
    args = [
        "scan",
        str(FIXTURES / "repos" / "acme-web"),
        "--input",
        str(FIXTURES / "aws" / "acme-prod"),
        "--format",
        "json",
        "-o",
        str(out),
        "--as-of",
        "2026-11-01",
        "--fail-on",
        "none",
    ]
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args], capture_output=True, text=True, check=True, cwd=tmp_path
    )
    assert done.stdout.strip().splitlines()[-1] == "False", done.stderr
    assert json.loads(out.read_text())["findings"]  # the scan did run, with every option read


def test_values_reach_the_command_unchanged(tmp_path: Path) -> None:
    """Through the console script: a path option, repeated list options, a string option."""
    out = tmp_path / "sub dir" / "r é.json"
    out.parent.mkdir()
    res = run_cli(
        "scan",
        str(FIXTURES / "repos" / "acme-web"),
        str(FIXTURES / "repos" / "acme-infra"),
        "--format",
        "json",
        "-o",
        str(out),
        "--as-of",
        "2026-11-01",
        "--fail-on",
        "none",
    )
    assert res.code == 0, res.stderr
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["as_of"].startswith("2026-11-01")
    assert {s["path"] for s in data["sources"]} == {
        str(FIXTURES / "repos" / "acme-web"),
        str(FIXTURES / "repos" / "acme-infra"),
    }
