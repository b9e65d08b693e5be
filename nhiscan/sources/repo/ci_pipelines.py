"""Azure Pipelines and CircleCI: the credentials pull request builds get, and secrets printed.

Azure Pipelines (`azure-pipelines*.yml`):

* ``azure-pipelines-pr-secrets``: a pipeline whose `pr:` trigger is given (not `none`) and whose
  job, with no condition keeping it out of pull request builds (`Build.Reason` / `SourceBranch`),
  uses a service connection, a variable group or a secret-named variable. Code of the pull request
  runs with them; for pull requests from forks too when the pipeline's "make secrets available to
  builds of forks" setting is on (a setting, not in the YAML). Without a `pr:` key the YAML does not
  say whether pull requests build (Azure Repos decides by branch policy), so nothing is reported.
  Deployment jobs are left out: their environment's approvals and checks decide.
* ``azure-pipelines-access-token-exposed``: `persistCredentials: true` on a checkout (the job's
  `System.AccessToken` stays in `.git/config` for every later step and task) or
  `$(System.AccessToken)` handed to a script; medium in a pipeline that builds pull requests.

CircleCI (`.circleci/config.yml`):

* ``circleci-context-unfiltered``: a workflow job with a `context:` and no branch filter, so it runs
  on every branch, forked pull request branches (`pull/N`) included when the project builds them.
* ``circleci-secret-echoed``: a `run:` command that prints a secret-named environment variable:
  low as it is (CircleCI masks project and context values in the output), high when encoded or
  transformed first (masking cannot recognise the result).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from yaml.nodes import MappingNode, Node, ScalarNode

from nhiscan.model import Observation
from nhiscan.sources.repo._common import obs, secret_name
from nhiscan.sources.repo._yaml import get, items, line, pairs, scalar, walk_scalars

AZURE = "Azure Pipelines"
CIRCLE = "CircleCI"

# Task inputs that name a service connection.
_CONNECTION_INPUTS = {
    "azuresubscription",
    "connectedservicename",
    "connectedservicenamearm",
    "azureresourcemanagerconnection",
    "containerregistry",
    "dockerregistryserviceconnection",
    "kubernetesserviceconnection",
    "kubernetesserviceendpoint",
    "serviceconnection",
    "externalfeedcredentials",
    "publishfeedcredentials",
    "awscredentials",
    "sshendpoint",
    "githubconnection",
}
_MACRO = re.compile(r"\$\(\s*([A-Za-z_][\w.]*)\s*\)")
_ACCESS_TOKEN = re.compile(r"\$\(\s*system\.accesstoken\s*\)", re.I)
_PR_EXCLUDED = re.compile(
    r"ne\(\s*variables\[?\s*['\"]?build\.reason['\"]?\s*\]?\s*,\s*['\"]pullrequest['\"]|"
    r"eq\(\s*variables\[?\s*['\"]?build\.source(branch|branchname)['\"]?\s*\]?\s*,|"
    r"startswith\(\s*variables\[?\s*['\"]?build\.sourcebranch['\"]?\s*\]?\s*,\s*['\"]refs/(heads|tags)/",
    re.I,
)
_SCRIPT_KEYS = ("script", "bash", "powershell", "pwsh")


def scan(system: str, path: str, docs: list[Node]) -> Iterator[Observation]:
    for doc in docs:
        if not isinstance(doc, MappingNode):
            continue
        if system == AZURE:
            yield from _azure(path, doc)
        elif system == CIRCLE:
            yield from _circle(path, doc)


# --- Azure Pipelines ----------------------------------------------------------------------------


def _builds_prs(doc: Node) -> bool:
    pr = get(doc, "pr")
    if pr is None:
        return False
    text = scalar(pr)
    if text is not None:
        return text.strip().lower() not in ("none", "false", "")
    return True  # a branch list or a mapping of filters


def _groups(node: Node | None) -> list[str]:
    return [str(scalar(get(v, "group"))) for v in items(node) if scalar(get(v, "group"))]


def _excluded(*nodes: Node | None) -> bool:
    return any(_PR_EXCLUDED.search(scalar(get(n, "condition")) or "") for n in nodes if n is not None)


def _azure_jobs(doc: Node) -> Iterator[tuple[str, Node, list[str], bool]]:
    """(name, job node, variable groups reaching it, excluded from PR builds)."""
    root_groups = _groups(get(doc, "variables"))
    if get(doc, "steps") is not None:
        yield "(pipeline)", doc, root_groups, False
    stages = items(get(doc, "stages"))
    scopes: list[tuple[Node | None, Node]] = [(None, doc)] + [(s, s) for s in stages]
    for stage, holder in scopes:
        stage_groups = _groups(get(stage, "variables")) if stage is not None else []
        for job in items(get(holder, "jobs")):
            if get(job, "deployment") is not None:
                continue  # the environment's approvals and checks decide
            name = scalar(get(job, "job")) or scalar(get(job, "template")) or "job"
            groups = root_groups + stage_groups + _groups(get(job, "variables"))
            yield name, job, groups, _excluded(stage, job)


def _azure(path: str, doc: Node) -> Iterator[Observation]:
    prs = _builds_prs(doc)
    for name, job, groups, excluded in _azure_jobs(doc):
        connections: list[str] = []
        secrets: set[str] = set()
        first_line = line(job) if job is not doc else 1
        for step in items(get(job, "steps")):
            if _excluded(step):
                continue
            for key, _, value in pairs(get(step, "inputs")):
                if key.lower() in _CONNECTION_INPUTS and scalar(value):
                    connections.append(f"{key}: {scalar(value)}")
            for s in walk_scalars(step):
                for var in _MACRO.findall(str(s.value)):
                    if secret_name(var.split(".")[-1]) and not var.lower().startswith(
                        ("system.", "build.", "agent.")
                    ):
                        secrets.add(var)
            yield from _access_token(path, name, step, prs)
        if prs and not excluded and (connections or groups or secrets):
            held = []
            if connections:
                held.append("service connection " + ", ".join(sorted(set(connections))))
            if groups:
                held.append("variable group " + ", ".join(sorted(set(groups))))
            if secrets:
                held.append("secret variable " + ", ".join(sorted(secrets)))
            yield obs(
                "azure-pipelines-pr-secrets",
                path,
                first_line,
                f"{AZURE} job '{name}' runs for pull requests (pr: trigger) with {'; '.join(held)}: the pull "
                "request's code runs next to them (from forks too, when the pipeline makes secrets available "
                "to fork builds)",
                f"pr-secrets:{name}",
                system=AZURE,
                job=name,
                service_connections=sorted(set(connections)),
                variable_groups=sorted(set(groups)),
                secret_variables=sorted(secrets),
            )


def _access_token(path: str, job: str, step: Node, prs: bool) -> Iterator[Observation]:
    severity = "medium" if prs else "low"
    where = " in a pipeline that builds pull requests" if prs else ""
    if (
        get(step, "checkout") is not None
        and (scalar(get(step, "persistCredentials")) or "").lower() == "true"
    ):
        yield obs(
            "azure-pipelines-access-token-exposed",
            path,
            line(step),
            f"{AZURE} job '{job}' checks out with persistCredentials: true{where}: System.AccessToken stays in "
            ".git/config for every later step and task",
            f"persist:{job}:{line(step)}",
            system=AZURE,
            job=job,
            severity=severity,
        )
        return
    if not any(get(step, k) is not None for k in _SCRIPT_KEYS) and get(step, "task") is None:
        return
    for s in walk_scalars(step):
        if "accesstoken" in str(s.value).lower() and _ACCESS_TOKEN.search(str(s.value)):
            yield obs(
                "azure-pipelines-access-token-exposed",
                path,
                line(s),
                f"{AZURE} job '{job}' hands $(System.AccessToken) to a script or task{where}: everything it runs "
                "can act as the pipeline's identity",
                f"accesstoken:{job}:{line(step)}",
                system=AZURE,
                job=job,
                severity=severity,
            )
            return


# --- CircleCI -----------------------------------------------------------------------------------------

_ENV_REF = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)")
_PRINTER = re.compile(r"^\s*(echo|printf|cat\s*<<<)\b", re.I)
_ENCODER = re.compile(r"^\s*(base64|rev|xxd|od|hexdump|tr|sed|awk|cut|fold|openssl\s+(base64|enc))\b", re.I)
_TRANSFORM = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(:[0-9]|//|#|%|\^|,)")


def _circle(path: str, doc: Node) -> Iterator[Observation]:
    for wf_name, _, wf in pairs(get(doc, "workflows")):
        if not isinstance(wf, MappingNode) or get(wf, "when") is not None or get(wf, "unless") is not None:
            continue
        for entry in items(get(wf, "jobs")):
            if not isinstance(entry, MappingNode):
                continue
            for job_name, kn, spec in pairs(entry):
                context = get(spec, "context")
                if context is None:
                    continue
                branches = get(get(spec, "filters"), "branches")
                if branches is not None and (get(branches, "only") is not None or _ignores_pulls(branches)):
                    continue
                if get(get(spec, "filters"), "tags") is not None and branches is not None:
                    continue
                names = [str(s.value) for s in walk_scalars(context)]
                yield obs(
                    "circleci-context-unfiltered",
                    path,
                    line(kn),
                    f"{CIRCLE} workflow '{wf_name}' runs job '{job_name}' with context {', '.join(names)} on every "
                    "branch: forked pull request branches get it too when the project passes secrets to fork builds",
                    f"context:{wf_name}:{job_name}",
                    system=CIRCLE,
                    workflow=wf_name,
                    job=job_name,
                    contexts=names,
                )
    for job_name, _, job in pairs(get(doc, "jobs")):
        for step in items(get(job, "steps")):
            run = get(step, "run")
            command = get(run, "command") if isinstance(run, MappingNode) else run
            if isinstance(command, ScalarNode):
                yield from _circle_echo(path, job_name, command)


def _ignores_pulls(branches: Node) -> bool:
    return any("pull" in str(s.value) for s in walk_scalars(get(branches, "ignore")))


def _circle_echo(path: str, job: str, command: ScalarNode) -> Iterator[Observation]:
    text_all = str(command.value)
    if "$" not in text_all:
        return
    first = line(command) + (1 if command.style in ("|", ">") else 0)
    for i, text in enumerate(text_all.splitlines()):
        names = sorted(
            {n for n in _ENV_REF.findall(text) if secret_name(n) and not n.startswith("CIRCLE_SHA")}
        )
        if not names:
            continue
        how = _printed(text)
        if how is None:
            continue
        yield obs(
            "circleci-secret-echoed",
            path,
            first + i,
            f"{CIRCLE} job '{job}' {'prints an encoded or transformed copy of' if how else 'prints'} "
            f"{', '.join(names)}" + ("" if how else " (CircleCI masks the exact value in the output)"),
            f"echo:{job}:{','.join(names)}",
            system=CIRCLE,
            job=job,
            variables=names,
            defeats_masking=how,
            severity="high" if how else "low",
        )


def _printed(text: str) -> bool | None:
    """None when the line does not print; else whether what it prints escapes masking."""
    for command in re.split(r"&&|\|\||;", text):
        segments = command.split("|")
        if not _PRINTER.match(segments[0]):
            continue
        rest = segments[1:]
        if rest and not all(_ENCODER.match(r) for r in rest):
            continue  # piped into a consumer (docker login --password-stdin, ...)
        if ">" in (rest[-1] if rest else segments[0]).replace("2>&1", ""):
            continue  # into a file
        return bool(rest) or _TRANSFORM.search(segments[0]) is not None
    return None
