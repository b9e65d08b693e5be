"""What cloud identities a GitHub Actions workflow reaches through OIDC, and deploy jobs whose
secrets no deployment environment guards.

* Each job that exchanges its OIDC token for a cloud identity (``aws-actions/configure-aws-credentials``
  with ``role-to-assume``, ``azure/login`` with ``client-id``, ``google-github-actions/auth`` with
  ``workload_identity_provider``) becomes one fact (``OIDC_FACT`` observation): the role it names,
  the audience, and the subject claims its runs carry (``environment:prod``, ``ref:refs/heads/main``,
  ``pull_request``). ``analyze/ci_oidc.py`` matches the facts to the trust policies of a cloud export
  scanned with the repository (rule ``oidc-trust-too-broad``, graph edges ``ci-oidc-assume``).
* ``gha-secrets-without-environment`` (opt-in): a job that references repository secrets and runs a
  deploy step without ``environment:``, so no reviewer, wait timer or branch rule guards them.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Iterator
from pathlib import Path

from yaml.nodes import MappingNode, Node

from nhiscan.model import Observation
from nhiscan.sources.repo import gha_if
from nhiscan.sources.repo._common import obs
from nhiscan.sources.repo._yaml import get, line, pairs, scalar, walk_scalars
from nhiscan.sources.repo.gha_model import SYSTEM, Job, Workflow
from nhiscan.sources.repo.naming import origin_url
from nhiscan.sources.repo.walker import git_toplevel

# The rule whose check reads the facts (it reports the cloud side; the facts are its input).
OIDC_FACT = "oidc-trust-too-broad"
ENV_RULE = "gha-secrets-without-environment"

_REPO_CHECK = re.compile(r"github\.repository\s*==\s*['\"]([\w.-]+/[\w.-]+)['\"]")
# Steps that deploy: cloud deploy commands and actions, infrastructure tools, package pushes.
_DEPLOY_ACTIONS = re.compile(
    r"^(aws-actions/(amazon-ecs-deploy-task-definition|aws-cloudformation-github-deploy|amazon-ecr-login)|"
    r"azure/(webapps-deploy|functions-action|k8s-deploy|arm-deploy|aks-set-context|container-apps-deploy-action)|"
    r"google-github-actions/(deploy-cloudrun|deploy-appengine|deploy-cloud-functions|get-gke-credentials)|"
    r"hashicorp/setup-terraform|pulumi/actions|superfly/flyctl-actions|cloudflare/wrangler-action|"
    r"amondnet/vercel-action|netlify/actions|appleboy/ssh-action|easingthemes/ssh-deploy|"
    r"helm/[\w-]+|azure/setup-helm|[\w.-]+/[\w.-]*deploy[\w.-]*)$"
)
_DEPLOY_RUN = re.compile(
    r"\b(kubectl\b[^\n;|&]{0,200}?\s(apply|set\s+image|rollout\s+restart|replace)|"
    r"helm\b[^\n;|&]{0,200}?\s(upgrade|install)|"
    r"terraform\s+apply|pulumi\s+up|cdk\s+deploy|sam\s+deploy|serverless\s+deploy|sls\s+deploy|"
    r"aws\s+(ecs\s+update-service|cloudformation\s+deploy|lambda\s+update-function-code|s3\s+sync)|"
    r"gcloud\s+(run\s+deploy|app\s+deploy|functions\s+deploy)|az\s+(webapp|functionapp)\s+deploy|"
    r"flyctl\s+deploy|fly\s+deploy|vercel\s+(deploy\s+)?--prod|netlify\s+deploy|wrangler\s+(deploy|publish)|"
    r"heroku\s+container:release|ansible-playbook|capistrano|cap\s+\w+\s+deploy)\b",
    re.I,
)


def scan(wf: Workflow) -> Iterator[Observation]:
    owner_repo = _repository_named(wf)
    for job in wf.jobs:
        yield from _oidc_facts(wf, job, owner_repo)
        yield from _secrets_without_environment(wf, job)


# --- OIDC facts -----------------------------------------------------------------------------------


def _repository_named(wf: Workflow) -> str | None:
    """OWNER/REPO when the workflow pins itself to one repository (`github.repository == 'a/b'`)."""
    for job in wf.jobs:
        for s in job.scalars:
            text = str(s.value)
            if "github.repository" in text:
                m = _REPO_CHECK.search(text)
                if m:
                    return m.group(1)
    return None


def environment_of(job: Job) -> str | None:
    """The job's deployment environment: its name, ``*`` when an expression chooses it."""
    node = get(job.node, "environment")
    if node is None:
        return None
    name = scalar(get(node, "name")) if isinstance(node, MappingNode) else scalar(node)
    if name is None or not name.strip():
        return None
    return "*" if "${{" in name else name.strip()


def _filters(value: Node | None, key: str) -> list[str] | None:
    """A trigger's `branches:`/`tags:` filter; None when absent (every branch or tag)."""
    node = get(value, key) if isinstance(value, MappingNode) else None
    if node is None:
        return None
    return [str(s.value) for s in walk_scalars(node)]


def job_subjects(wf: Workflow, job: Job) -> list[str]:
    """The `sub` claims (after ``repo:OWNER/REPO:``) the job's OIDC tokens carry, as glob patterns.

    Each trigger gives the runs it starts (event, ref); the job's ``if:`` removes the runs it is
    false for (``gha_if``: unknown conditions keep them). A job that can never run has none."""
    cond = gha_if.parse(scalar(get(job.node, "if")))
    env = environment_of(job)
    runs = _runs(wf)
    if not runs:
        return [f"environment:{env}"] if env is not None else ["*"]
    subjects: list[str] = []
    for event, ref, subject in runs:
        if cond is None:
            subjects.append(subject)
            continue
        # a called workflow sees its caller's event: unknown here
        known = None if event == "workflow_call" else event
        for part in gha_if.split_ref(ref, cond):
            if not cond.admits(known, part):
                continue
            if subject == "pull_request" or (isinstance(part, gha_if.Glob) and part.pattern == ref):
                subjects.append(subject)
            else:
                subjects.append(f"ref:{part.pattern if isinstance(part, gha_if.Glob) else part}")
    if env is not None:
        return [f"environment:{env}"] if subjects else []
    return sorted(set(subjects))


def _runs(wf: Workflow) -> list[tuple[str, str, str]]:
    """(event, ref glob, `sub` after the repository) of each kind of run the triggers start."""
    on = get(wf.doc, "on") or get(wf.doc, "true")
    events: dict[str, Node | None] = {}
    if isinstance(on, MappingNode):
        events = {k: v for k, _, v in pairs(on)}
    else:
        events = {name: None for name in wf.triggers}
    runs: list[tuple[str, str, str]] = []
    for event, value in events.items():
        if event in ("pull_request", "pull_request_target"):
            runs.append((event, "refs/pull/*/merge", "pull_request"))
        elif event == "push":
            branches, tags = _filters(value, "branches"), _filters(value, "tags")
            if branches is None and tags is None:
                runs += [
                    (event, "refs/heads/*", "ref:refs/heads/*"),
                    (event, "refs/tags/*", "ref:refs/tags/*"),
                ]
            runs += [
                (event, f"refs/heads/{b}", f"ref:refs/heads/{b}")
                for b in branches or ()
                if not b.startswith("!")
            ]
            runs += [
                (event, f"refs/tags/{t}", f"ref:refs/tags/{t}") for t in tags or () if not t.startswith("!")
            ]
        elif event == "release":
            runs.append((event, "refs/tags/*", "ref:refs/tags/*"))
        elif event in ("workflow_dispatch", "workflow_call", "repository_dispatch", "merge_group"):
            runs.append((event, "refs/*", "*"))  # the caller or dispatcher chooses the ref
        else:  # schedule, workflow_run, issue_comment, ...: the default branch
            runs += [
                (event, "refs/heads/main", "ref:refs/heads/main"),
                (event, "refs/heads/master", "ref:refs/heads/master"),
            ]
    return runs


def _oidc_facts(wf: Workflow, job: Job, owner_repo: str | None) -> Iterator[Observation]:
    for step in job.steps:
        cloud = target = ""
        audience: str | None = None
        if step.uses == "aws-actions/configure-aws-credentials":
            if step.with_value("aws-access-key-id"):
                continue  # static keys: gha-static-cloud-credentials
            cloud, target = "aws", step.with_value("role-to-assume") or ""
            audience = step.with_value("audience") or "sts.amazonaws.com"
        elif step.uses == "azure/login":
            if step.with_value("creds"):
                continue
            cloud, target = "azure", step.with_value("client-id") or ""
            audience = step.with_value("audience") or "api://AzureADTokenExchange"
        elif step.uses == "google-github-actions/auth":
            if step.with_value("credentials_json"):
                continue
            cloud = "gcp"
            target = step.with_value("service_account") or step.with_value("workload_identity_provider") or ""
            wip = (step.with_value("workload_identity_provider") or "").strip()
            audience = step.with_value("audience") or (f"https://iam.googleapis.com/{wip}" if wip else None)
        if not cloud or not target.strip():
            continue
        perm = wf.effective(job)
        yield obs(
            OIDC_FACT,
            wf.path,
            line(step.node),
            f"{SYSTEM} job '{job.job_id}' step '{step.label}' assumes {cloud.upper()} identity {target.strip()} "
            "through OIDC",
            f"oidc:{job.job_id}:{step.index}",
            fact="ci-oidc-assume",
            system=SYSTEM,
            cloud=cloud,
            job=job.job_id,
            step=step.label,
            target=target.strip(),
            audience=audience,
            provider=step.with_value("workload_identity_provider"),
            subjects=job_subjects(wf, job),
            environment=environment_of(job),
            triggers=sorted(wf.triggers),
            # False only when a permissions block leaves id-token out (the token cannot be minted).
            id_token=perm.id_token or not perm.declared,
            repository=owner_repo,
        )


# --- secrets without a deployment environment ------------------------------------------------------


def _deploys(job: Job) -> str | None:
    for step in job.steps:
        if step.uses and _DEPLOY_ACTIONS.match(step.uses):
            return step.label
        if step.run is not None and _DEPLOY_RUN.search(str(step.run.value)):
            return step.label
    return None


def _secrets_without_environment(wf: Workflow, job: Job) -> Iterator[Observation]:
    if get(job.node, "environment") is not None or job.uses:
        return
    secrets = sorted(set(job.secrets) | set(wf.env_secrets))
    if not secrets:
        return
    step = _deploys(job)
    if step is None:
        return
    yield obs(
        ENV_RULE,
        wf.path,
        line(job.key_node),
        f"{SYSTEM} job '{job.job_id}' deploys (step '{step}') with secrets {', '.join(secrets)} but names no "
        "deployment environment: repository secrets reach it from any branch, with no reviewer or branch rule",
        f"noenv:{job.job_id}",
        system=SYSTEM,
        job=job.job_id,
        step=step,
        secrets=secrets,
    )


# --- the repository's owner ------------------------------------------------------------------------

_GITHUB_REMOTE = re.compile(r"github\.com[:/]+([\w.-]+)/([\w.-]+?)(?:\.git)?/*$", re.I)


def github_repository(root: Path) -> str | None:
    """OWNER/REPO of a checkout whose ``origin`` is on github.com, when ``root`` is its top level
    (a subdirectory scanned on its own is not that repository's whole tree)."""
    real = Path(os.path.realpath(root))
    top = git_toplevel(real) if real.is_dir() else None
    if top is None or Path(os.path.realpath(top)) != real:
        return None
    url = origin_url(real)
    m = _GITHUB_REMOTE.search(url) if url else None
    return f"{m.group(1)}/{m.group(2)}" if m else None


def with_github_repository(found: list[Observation], root: Path) -> list[Observation]:
    """The OIDC facts of one scanned tree completed with its OWNER/REPO (read once, only when there
    are facts that do not name it): a trust's `repo:OWNER/...` is then decided, not assumed."""
    todo = [i for i, o in enumerate(found) if o.rule_id == OIDC_FACT and not o.attributes.get("repository")]
    if not todo:
        return found
    slug = github_repository(root)
    if slug is None:
        return found
    out = list(found)
    for i in todo:
        out[i] = dataclasses.replace(out[i], attributes={**out[i].attributes, "repository": slug})
    return out
