"""The options `scan`, `inventory` and `baseline create` share (Typer annotations only)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

# Options shared by `scan`, `inventory` and `baseline create`.
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
