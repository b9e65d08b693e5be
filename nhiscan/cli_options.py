"""The options `scan`, `inventory`, `paths` and `baseline create` share.

Each option is declared once here as a Typer annotation; ``InputOptions`` gathers the inputs (what
to collect, as of when, with which configuration) and ``with_input_options`` gives a command all of
them as Typer parameters and hands it one ``InputOptions``, which ``cli._build_config`` reads.
"""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

PathsArg = Annotated[
    Optional[list[str]],  # noqa: UP045 - Typer needs Optional on 3.10
    typer.Argument(
        metavar="PATH",
        help="Repositories or directories to scan for secrets, CI and agent configs.",
        show_default=False,
    ),
]
InputOpt = Annotated[
    Optional[list[str]],  # noqa: UP045
    typer.Option(
        "--input",
        "-i",
        metavar="[SCOPE=]PATH",
        help="An export file or a directory of exports; format detected from content. Repeatable.",
    ),
]
AwsOpt = Annotated[
    bool, typer.Option("--aws", help="Collect live from AWS with the standard credential chain.")
]
AwsProfileOpt = Annotated[
    Optional[str],  # noqa: UP045
    typer.Option("--aws-profile", metavar="NAME", help="AWS profile to use (implies --aws)."),
]
AwsOrgOpt = Annotated[bool, typer.Option("--aws-org", help="Scan every account of the AWS Organization.")]
AwsRoleOpt = Annotated[
    Optional[str],  # noqa: UP045
    typer.Option(
        "--aws-role", metavar="NAME", help="Role name to assume in each member account (with --aws-org)."
    ),
]
AwsLastAccessedOpt = Annotated[
    bool,
    typer.Option(
        "--aws-last-accessed",
        help="Also read IAM service last accessed data for every non-human user and role (with --aws; "
        "one job per identity).",
    ),
]
GcpOpt = Annotated[
    list[str] | None, typer.Option("--gcp-project", metavar="ID", help="GCP project id (live). Repeatable.")
]
AzureOpt = Annotated[
    Optional[list[str]],  # noqa: UP045
    typer.Option("--azure-subscription", metavar="ID", help="Azure subscription id (live). Repeatable."),
]
K8sOpt = Annotated[
    Optional[str],  # noqa: UP045
    typer.Option("--k8s-context", metavar="NAME", help="Kubernetes context (live)."),
]
HistoryOpt = Annotated[
    bool,
    typer.Option(
        "--history",
        help="Also scan what every commit of git repositories added (each secret once, at its first "
        "commit, with its author date and whether it is still in the tree).",
    ),
]
AsOfOpt = Annotated[
    Optional[str],  # noqa: UP045
    typer.Option("--as-of", metavar="YYYY-MM-DD", help="Evaluate ages as of this date (default: now)."),
]
ConfigOpt = Annotated[
    Optional[Path],  # noqa: UP045
    typer.Option(
        "--config",
        metavar="FILE",
        help="nhiscan.toml or pyproject.toml (default: ./nhiscan.toml, ./pyproject.toml).",
    ),
]
OutputOpt = Annotated[
    Optional[Path],  # noqa: UP045
    typer.Option("--output", "-o", metavar="FILE", help="Write to FILE instead of stdout."),
]

ShardOpt = Annotated[
    Optional[str],  # noqa: UP045
    typer.Option(
        "--shard",
        metavar="I/N",
        help="Collect only shard I (0 to N-1) of the organization's accounts, projects and subscriptions, "
        "assigned by a stable hash of their ids; auto/N reads I from JOB_COMPLETION_INDEX or "
        "NHISCAN_SHARD_INDEX. Merge the shards with `scan --input DIR`.",
    ),
]


@dataclass(frozen=True)
class InputOptions:
    """The inputs of one run, as given on the command line. Each field's annotation is its Typer
    declaration and its default the option's default: the fields are the commands' parameters."""

    paths: PathsArg = None
    input: InputOpt = None
    aws: AwsOpt = False
    aws_profile: AwsProfileOpt = None
    aws_org: AwsOrgOpt = False
    aws_role: AwsRoleOpt = None
    aws_last_accessed: AwsLastAccessedOpt = False
    gcp_project: GcpOpt = None
    azure_subscription: AzureOpt = None
    k8s_context: K8sOpt = None
    history: HistoryOpt = False
    as_of: AsOfOpt = None
    config: ConfigOpt = None


# The settings among the inputs; a command places them itself (``with_input_options(after=...)``).
_SETTINGS = ("as_of", "config")


@functools.lru_cache(maxsize=1)
def _input_parameters() -> tuple[inspect.Parameter, ...]:
    hints = typing.get_type_hints(InputOptions, include_extras=True)
    return tuple(
        inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY, default=f.default, annotation=hints[f.name])
        for f in fields(InputOptions)
    )


def _is_argument(p: inspect.Parameter) -> bool:
    return any(isinstance(m, typer.models.ArgumentInfo) for m in typing.get_args(p.annotation)[1:])


def with_input_options(*, after: str = "output") -> Callable[[Callable[..., None]], Callable[..., None]]:
    """The Typer command for ``command(..., opts: InputOptions, ...)``.

    Typer sees PATH and the source options (``--input`` to ``--history``) where ``opts`` stands,
    ``--as-of`` and ``--config`` right after the command's parameter ``after``, and the arguments
    before the options (in their order); a call gathers the inputs into one InputOptions passed as
    ``opts``. Names, defaults and help are InputOptions' fields'.
    """

    def wrap(command: Callable[..., None]) -> Callable[..., None]:
        own = inspect.signature(command, eval_str=True)
        if "opts" not in own.parameters or after not in own.parameters:
            raise TypeError(f"{command.__name__}: with_input_options needs the parameters opts and {after}")
        shared = _input_parameters()
        params: list[inspect.Parameter] = []
        for p in own.parameters.values():
            if p.name == "opts":
                params.extend(q for q in shared if q.name not in _SETTINGS)
                continue
            params.append(p.replace(kind=inspect.Parameter.KEYWORD_ONLY))
            if p.name == after:
                params.extend(q for q in shared if q.name in _SETTINGS)
        params.sort(key=lambda p: not _is_argument(p))  # stable: each group keeps its order
        names = tuple(q.name for q in shared)

        @functools.wraps(command)
        def run(**kwargs: Any) -> None:
            opts = InputOptions(**{name: kwargs.pop(name) for name in names if name in kwargs})
            command(opts=opts, **kwargs)

        # Typer reads the parameters from the signature and their annotations (evaluated here).
        run.__signature__ = own.replace(parameters=params)  # type: ignore[attr-defined]
        run.__annotations__ = {p.name: p.annotation for p in params} | {"return": own.return_annotation}
        return run

    return wrap
