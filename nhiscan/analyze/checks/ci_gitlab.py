"""gitlab-unprotected-variable-in-mr: stored secrets that merge-request pipelines can read.

The repository source records, per GitLab CI job that runs in merge-request pipelines, the variables
its scripts read (``sources/repo/gitlab_jobs.py``); a variables export (``sources/gitlab``) says which
stored variables are protected. A secret variable (masked, of type file, or secret-named) that is
not protected, whose environment scope reaches the job, is readable by that job's code: any branch
pushed by a developer, any merge request's changes, before anyone reviews them.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator, Mapping
from typing import Any

from nhiscan.analyze.checks import CheckContext, Hit, check
from nhiscan.model import Observation
from nhiscan.sources.repo._common import secret_name


def _project_names(o: Observation) -> set[str]:
    name = (o.location.repository_name or o.location.repository or "").replace("\\", "/")
    parts = [p for p in name.split("/") if p]
    return {parts[0].lower(), parts[-1].lower()} if parts else set()


def _applies(var: Mapping[str, Any], job: Observation) -> bool:
    project = var.get("project")
    if (
        isinstance(project, str)
        and project
        and project.rstrip("/").split("/")[-1].lower() not in _project_names(job)
    ):
        return False
    scope = str(var.get("environment_scope") or "*")
    env = job.attributes.get("environment")
    if scope == "*":
        return True
    return isinstance(env, str) and "$" not in env and fnmatch.fnmatchcase(env, scope)


def _secret(var: Mapping[str, Any]) -> bool:
    return (
        bool(var.get("masked")) or var.get("variable_type") == "file" or secret_name(str(var.get("variable")))
    )


@check("gitlab_unprotected_variable_in_mr")
def gitlab_unprotected_variable_in_mr(ctx: CheckContext) -> Iterator[Hit]:
    variables: dict[str, list[Mapping[str, Any]]] = {}
    jobs: list[Observation] = []
    for o in ctx.inventory.observations:
        if o.rule_id != ctx.rule.id:
            continue
        if o.attributes.get("fact") == "gitlab-variable":
            variables.setdefault(str(o.attributes.get("variable")), []).append(o.attributes)
        elif o.attributes.get("fact") == "gitlab-mr-job":
            jobs.append(o)
    if not variables:
        return
    for job in jobs:
        used = job.attributes.get("variables")
        exposed: list[str] = []
        for name in used if isinstance(used, list) else ():
            for var in variables.get(str(name), ()):
                if var.get("protected") is False and _secret(var) and _applies(var, job):
                    exposed.append(str(name))
                    break
        if not exposed:
            continue
        name = job.attributes.get("job")
        yield Hit(
            message=(
                f"GitLab CI job '{name}' runs in merge-request pipelines and reads the unprotected secret "
                f"variable{'s' if len(exposed) > 1 else ''} {', '.join(sorted(exposed))}: every branch and merge "
                "request pipeline of the project can read it, before review"
            ),
            location=job.location,
            evidence={"job": name, "variables": sorted(exposed), "system": "GitLab CI"},
            key=f"mr-unprotected:{name}",
        )
