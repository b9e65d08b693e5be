"""CI workflow -> the cloud identity its OIDC token can become (kind ``ci-oidc-assume``).

A workflow job that exchanges its GitHub OIDC token for an AWS role (or an Azure application, or a
GCP service account through a workload identity pool) is a
way into that identity: whoever can make the job run, or push a workflow the trust also admits, acts
as the role. The source node is ``workflow:<repository_name>:<path>``; ``via`` names the trust
condition that admits the job. The edge is conditional when the export and the checkout cannot
decide it: the repository's owner is not known from the checkout, the trust admits the repository
but not the subjects the job runs as, or the job's permissions leave out `id-token: write`
(`analyze/ci_oidc.py`). A job that names its role through an expression (`${{ vars.ROLE_ARN }}`)
reaches every role whose trust admits its runs; one that names another role's ARN reaches none.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from nhiscan.analyze import ci_oidc
from nhiscan.analyze.graph.edge import Edge
from nhiscan.model import Inventory

KIND = "ci-oidc-assume"


def edges(inventory: Inventory, as_of: datetime) -> Iterator[Edge]:
    jobs = ci_oidc.workflow_jobs(inventory)
    if not jobs:
        return
    trusts = ci_oidc.all_trusts(inventory)
    # The export each identity came from: the source of its kind for its account / tenant.
    paths: dict[tuple[str, str | None], str] = {}
    for src in inventory.sources:
        if src.path and src.kind != "repository":
            paths.setdefault((src.kind.split("-", 1)[0], src.scope), src.path)
    best: dict[tuple[str, str], ci_oidc.Match] = {}
    for m in ci_oidc.match(jobs, trusts):
        key = (m.job.node, m.trust.identity.id)
        # Two jobs (or trust statements) of one workflow reaching one identity: one edge, decided first.
        if key not in best or (best[key].conditional and not m.conditional):
            best[key] = m
    for (source, target), m in sorted(best.items()):
        ident = m.trust.identity
        yield Edge(
            source=source,
            target=target,
            kind=KIND,
            via=m.via,
            path=paths.get((ident.provider, ident.scope)) or paths.get((ident.provider, None)),
            conditional=m.conditional,
            condition=m.condition,
        )
