"""The input options `scan`, `inventory`, `paths` and `baseline create` share (cli_options.py).

They are declared once (``InputOptions``) and given to each command by ``with_input_options``;
these tests pin what each command exposes (names, order, defaults), so that sharing the
declaration never changes a command's options, and drive the installed CLI to show that each
command still reads every input it is given.
"""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest
import typer
import typer.main
from typer.testing import CliRunner

from nhiscan.cli import app
from nhiscan.cli_options import InputOptions, with_input_options
from tests.conftest import AS_OF, FIXTURES, run_cli

SOURCES = [
    "PATH",
    "--input",
    "--aws",
    "--aws-profile",
    "--aws-org",
    "--aws-role",
    "--aws-last-accessed",
    "--gcp-project",
    "--azure-subscription",
    "--k8s-context",
    "--history",
]

# Every command's parameters, in the order Click holds them (arguments by metavar, options by
# their long name), as they were when each command declared the inputs itself.
PINNED = {
    "scan": [
        *SOURCES,
        "--format",
        "--output",
        "--fail-on",
        "--as-of",
        "--config",
        "--baseline",
        "--waivers",
    ],
    "inventory": [*SOURCES, "--output", "--as-of", "--config", "--shard"],
    "paths": ["IDENTITY", "PATH", "--to", *SOURCES[1:], "--format", "--output", "--as-of", "--config"],
    "baseline create": [*SOURCES, "--output", "--as-of", "--config"],
}


def commands() -> dict[str, Any]:
    root: Any = typer.main.get_command(app)
    out = {name: cmd for name, cmd in root.commands.items() if not hasattr(cmd, "commands")}
    out["baseline create"] = root.commands["baseline"].commands["create"]
    return out


def label(param: Any) -> str:
    if param.param_type_name == "argument":
        return str(param.metavar)
    return next(o for o in (*param.opts, *param.secondary_opts) if o.startswith("--"))


@pytest.mark.parametrize("name", sorted(PINNED))
def test_each_command_keeps_its_parameters_in_order(name: str) -> None:
    assert [label(p) for p in commands()[name].params] == PINNED[name]


def declaration(param: Any) -> tuple[Any, ...]:
    return (param.name, tuple(param.opts), param.default, param.metavar, getattr(param, "help", None))


def test_the_inputs_are_the_same_declaration_in_every_command() -> None:
    names = [f.name for f in fields(InputOptions)]
    seen: dict[str, set[tuple[Any, ...]]] = {n: set() for n in names}
    for name in PINNED:
        params = {p.name: p for p in commands()[name].params}
        assert set(names) <= set(params), name
        for n in names:
            seen[n].add(declaration(params[n]))
    for n, decls in seen.items():
        assert len(decls) == 1, f"{n} is declared differently across commands: {decls}"
    defaults = {f.name: f.default for f in fields(InputOptions)}
    assert {n: next(iter(d))[2] for n, d in seen.items()} == {
        **defaults,
        # Click keeps a repeatable option's or variadic argument's default as None
        "paths": None,
        "input": None,
    }


def test_a_command_receives_every_input_in_one_object() -> None:
    got: list[InputOptions] = []
    demo = typer.Typer()

    @demo.command()
    @with_input_options()
    def run(opts: InputOptions, output: str = "-") -> None:
        got.append(opts)
        typer.echo(output)

    args = "repo -i a=b.json --input c --aws-profile p --gcp-project g1 --gcp-project g2 --history"
    res = CliRunner().invoke(
        demo, [*args.split(), "--as-of", "2026-01-02", "--config", "x.toml", "--output", "out"]
    )
    assert res.exit_code == 0, res.output
    assert res.output.strip() == "out"
    assert got == [
        InputOptions(
            paths=["repo"],
            input=["a=b.json", "c"],
            aws_profile="p",
            gcp_project=["g1", "g2"],
            history=True,
            as_of="2026-01-02",
            config=Path("x.toml"),
        )
    ]


def test_a_command_without_the_parameters_it_places_is_refused() -> None:
    def no_opts(output: str = "-") -> None: ...

    def no_output(opts: InputOptions) -> None: ...

    with pytest.raises(TypeError, match="opts and output"):
        with_input_options()(no_opts)
    with pytest.raises(TypeError, match="opts and fail_on"):
        with_input_options(after="fail_on")(no_output)


AWS = str(FIXTURES / "aws" / "acme-prod")


def test_inventory_and_baseline_create_read_their_inputs(tmp_path: Path) -> None:
    inv = run_cli("inventory", "--input", AWS, "--as-of", "2026-01-02", "-o", str(tmp_path / "inv.json"))
    assert inv.code == 0, inv.stderr
    doc = json.loads((tmp_path / "inv.json").read_text())
    assert doc["as_of"].startswith("2026-01-02")
    assert any(i["scope"] == "111122223333" for i in doc["identities"])

    base = run_cli("baseline", "create", "--input", AWS, "--as-of", AS_OF, "-o", str(tmp_path / "b.json"))
    assert base.code == 0, base.stderr
    recorded = json.loads((tmp_path / "b.json").read_text())
    assert recorded["findings"], recorded


def test_the_input_rules_hold_for_every_command() -> None:
    for command in (["scan"], ["inventory"], ["paths", "--to", "admin"], ["baseline", "create"]):
        res = run_cli(*command, "--aws-role", "audit", "--input", AWS)
        assert res.code == 2, (command, res.stderr)
        assert res.stderr.strip() == "nhiscan: error: --aws-role goes with --aws-org", command
        res = run_cli(*command)
        assert res.code == 2, (command, res.stderr)
        assert "nothing to scan" in res.stderr, command
