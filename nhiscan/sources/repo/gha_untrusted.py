"""Pull request code run where the base repository's secrets and write token are (pwn requests).

Privileged triggers run in the base repository's context whoever opened the pull request:
``pull_request_target``, ``workflow_run`` (triggered by a fork's ``pull_request`` run) and
``issue_comment`` (a comment on a fork's pull request). ``pull_request_review`` and
``pull_request_review_comment`` are not among them: GitHub gives runs of those events from a fork
the same read-only token and no secrets as ``pull_request``.

Two ways PR-controlled code gets in:

* a checkout or fetch of the PR's head or merge commit (``actions/checkout`` with a PR ref, ``git
  fetch ... pull/N/head``, ``gh pr checkout``), the ref written directly or passed through an
  ``env:`` variable, a step output or a job output;
* artifacts of the PR's run downloaded by a ``workflow_run`` workflow and then executed (or fed to
  ``$GITHUB_ENV``), with no checkout at all.

Severity follows what the job holds (secrets, write scopes, ``id-token: write``, or an undeclared
token that takes the repository default) and whether the code is executed or only read.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from yaml.nodes import ScalarNode

from nhiscan.model import Observation
from nhiscan.sources.repo._common import obs
from nhiscan.sources.repo._yaml import get, line, pairs, scalar, walk_scalars
from nhiscan.sources.repo.gha_model import SYSTEM, WRITE_ALL, Job, Step, Workflow

PRIVILEGED = ("issue_comment", "pull_request_target", "workflow_run")

UNTRUSTED_REF = re.compile(
    r"github\.event\.pull_request\.(head\.(sha|ref|repo)|merge_commit_sha)|github\.head_ref|refs/pull/|"
    r"github\.event\.workflow_run\.(head_(sha|branch|repository|commit)|pull_requests)|"
    r"\bpull/(\d+|\$\{\{[^}]{0,200}\}\}|\$\{?\w+\}?)/(head|merge)\b",
    re.I,
)
# Where a script looks a PR's head up (its output then carries the ref).
_HEAD_LOOKUP = re.compile(r"headRefOid|headRefName|head_sha|pulls\.get\b|/pulls/|gh\s+pr\s+view", re.I)
_GIT_FETCH = re.compile(r"\bgit\s+(fetch|checkout|pull|switch|reset|worktree\s+add)\b", re.I)
_GH_CHECKOUT = re.compile(r"\bgh\s+pr\s+checkout\b", re.I)
_GATE = re.compile(
    r"author_association|\.labels\b|permission|github\.actor\s*==|github\.triggering_actor", re.I
)
# A script line that only reads or reports (not running anything from the checkout).
_READ_ONLY_LINE = re.compile(
    r"^\s*($|#|echo\b|printf\b|cat\b|ls\b|jq\b|grep\b|head\b|tail\b|wc\b|test\b|\[|if\b|then\b|else\b|"
    r"fi\b|exit\b|cd\b|git\s+(diff|log|show|status|rev-parse|config)\b|gh\s+(pr|issue|api)\b|"
    r"set\s+-|export\s+\w+=|\w+=)",
    re.I,
)
_ARTIFACT_ACTIONS = ("actions/download-artifact", "dawidd6/action-download-artifact")
_EXECUTES = re.compile(
    r"(^|[\s;&|(])(\./\S|bash\s+\S|sh\s+\S|source\s+\S|\.\s+\S+|python3?\s+[\w./-]+\.py|node\s+[\w./-]+\.js|"
    r"chmod\s+\+x|npm\s+(ci|install|run|test)|yarn\b|make\b|pip\s+install\s+[\w./-])|"
    r">>\s*\"?\$\{?GITHUB_ENV|>>\s*\"?\$\{?GITHUB_PATH",
    re.I,
)


def scan(wf: Workflow) -> Iterator[Observation]:
    privileged = sorted(t for t in wf.triggers if t in PRIVILEGED)
    if not privileged:
        return
    tainted_needs = _tainted_job_outputs(wf)
    for job in wf.jobs:
        yield from _job(wf, job, privileged, tainted_needs)


def _holdings(wf: Workflow, job: Job) -> tuple[list[str], str]:
    """What a job of a privileged run holds (phrases for the message), and the token's state:
    'write', 'read' or 'default' (no permissions block anywhere: the repository's default)."""
    held: list[str] = []
    secrets = sorted(set(job.secrets) | set(wf.env_secrets))
    inherit = (scalar(get(job.node, "secrets")) or "").strip().lower() == "inherit"
    if secrets or inherit:
        held.append("secrets " + ", ".join(secrets) if secrets else "every secret (secrets: inherit)")
    perm = wf.effective(job)
    if not perm.declared:
        return held, "default"
    if WRITE_ALL in perm.writes:
        held.append("a write-all token")
    elif perm.any_write:
        held.append("a token with write on " + ", ".join(sorted(perm.writes - {"id-token"})))
    if perm.id_token:
        held.append("id-token: write (cloud OIDC)")
    return held, "write" if perm.any_write else "read"


def _tainted_job_outputs(wf: Workflow) -> set[str]:
    """`needs.JOB.outputs.NAME` expressions whose value carries a PR ref."""
    out: set[str] = set()
    for job in wf.jobs:
        step_taint = _tainted_steps(job)
        for name, _, value in pairs(get(job.node, "outputs")):
            text = scalar(value) or ""
            if UNTRUSTED_REF.search(text) or any(f"steps.{s}.outputs" in text for s in step_taint):
                out.add(f"needs.{job.job_id}.outputs.{name}")
    return out


def _tainted_steps(job: Job) -> set[str]:
    ids: set[str] = set()
    for step in job.steps:
        if not step.step_id:
            continue
        texts = [str(step.run.value)] if step.run is not None else []
        texts += [str(s.value) for s in walk_scalars(step.with_node)]
        if any(UNTRUSTED_REF.search(t) or _HEAD_LOOKUP.search(t) for t in texts):
            ids.add(step.step_id)
    return ids


def _tainted_env(*envs: object) -> set[str]:
    names: set[str] = set()
    for env in envs:
        for name, _, v in pairs(env):  # type: ignore[arg-type]
            if UNTRUSTED_REF.search(scalar(v) or ""):
                names.add(name)
    return names


def _is_untrusted(text: str, env_names: set[str], exprs: set[str]) -> bool:
    if UNTRUSTED_REF.search(text):
        return True
    if any(f"env.{n}" in text for n in env_names):
        return True
    return any(e in text for e in exprs)


def _fetches_pr(run: ScalarNode, env_names: set[str], exprs: set[str]) -> int | None:
    """The line of a script that fetches or checks out the PR's code, if it does."""
    first = line(run) + (1 if run.style in ("|", ">") else 0)
    shell_vars = (
        re.compile(r"\$\{?(" + "|".join(map(re.escape, sorted(env_names))) + r")\b") if env_names else None
    )
    for i, text in enumerate(str(run.value).splitlines()):
        if _GH_CHECKOUT.search(text):
            return first + i
        if _GIT_FETCH.search(text) and (
            _is_untrusted(text, env_names, exprs) or (shell_vars is not None and shell_vars.search(text))
        ):
            return first + i
    return None


def _executes_after(steps: list[Step]) -> bool:
    """Whether a later step may run the checked-out code: a local action, a script line that
    does more than read or report, or a third-party action (a linter, builder or test runner run
    on the checkout). GitHub's own actions (setup-*, cache, upload-artifact, github-script) do not
    run the checkout's files."""
    for step in steps:
        if step.uses.startswith("./"):
            return True
        if step.run is not None and any(
            not _READ_ONLY_LINE.match(t) for t in str(step.run.value).splitlines()
        ):
            return True
        if step.uses and step.uses.split("/", 1)[0] not in ("actions", "github"):
            return True
    return False


_DOC_PATH = re.compile(r"^/?(docs?|documentation|content|site|[^\s/]+\.(md|rst|txt|adoc))/?$", re.I)


def _docs_only(sparse: str | None) -> bool:
    """A sparse checkout of documentation paths only: the PR's files are read as data (a docs
    builder that executes files from them, such as a Sphinx conf.py, would change that)."""
    paths = [p.strip() for p in (sparse or "").splitlines() if p.strip()]
    return bool(paths) and all(_DOC_PATH.match(p) for p in paths)


def _gated(job: Job, step: Step) -> bool:
    return any(_GATE.search(scalar(get(n, "if")) or "") for n in (job.node, step.node))


def _severity(executed: bool, token: str, held: list[str], gated: bool) -> str:
    if executed:
        sev = "critical" if held else ("high" if token in ("default", "write") else "medium")
    else:
        sev = "medium" if held or token != "read" else "low"
    if gated and sev == "critical":
        sev = "high"  # a maintainer approves first; the PR can still change after the approval
    return sev


def _job(wf: Workflow, job: Job, privileged: list[str], tainted_needs: set[str]) -> Iterator[Observation]:
    env_names = _tainted_env(wf.env, job.env)
    step_taint = {f"steps.{s}.outputs" for s in _tainted_steps(job)}
    held, token = _holdings(wf, job)
    trig = "/".join(privileged)
    downloaded: Step | None = None
    into = ""  # where the artifacts land ("" = the workspace, where they may overwrite scripts)
    for pos, step in enumerate(job.steps):
        names = env_names | _tainted_env(step.env)
        exprs = step_taint | tainted_needs
        where: int | None = None
        what = ""
        if step.uses == "actions/checkout":
            for key in ("ref", "repository"):
                value = step.with_value(key)
                if value and _is_untrusted(value, names, exprs):
                    kn = next(k for n, k, _ in pairs(step.with_node) if n == key)
                    where, what = line(kn), f"checks out {value.strip()}"
                    break
        if where is None and step.run is not None:
            where = _fetches_pr(step.run, names, exprs)
            what = "fetches the pull request's code in a script"
        if where is not None:
            docs_only = step.uses == "actions/checkout" and _docs_only(step.with_value("sparse-checkout"))
            executed = not docs_only and _executes_after(job.steps[pos + 1 :])
            gated = _gated(job, step)
            sev = _severity(executed, token, held, gated)
            holds = "; the job holds " + " and ".join(held) if held else ""
            if token == "default":
                holds += "; no permissions block: the token gets the repository's default scope"
            then = (
                "then runs it"
                if executed
                else "checks out documentation paths only (read as data)"
                if docs_only
                else "only reads it (no later step runs it)"
            )
            yield obs(
                "gha-untrusted-checkout-with-secrets",
                wf.path,
                where,
                f"{SYSTEM} job '{job.job_id}' step '{step.label}' {what} under {trig} and {then}{holds}"
                + (" (gated by an approval condition)" if gated else ""),
                f"checkout:{job.job_id}:{step.label}",
                system=SYSTEM,
                job=job.job_id,
                step=step.label,
                triggers=privileged,
                executed=executed,
                holds=held,
                severity=sev,
            )
        if "workflow_run" in privileged and _downloads_run_artifacts(step):
            downloaded = downloaded or step
            into = into or _download_dir(step)
        elif downloaded is not None and _executes(step, into):
            sev = "critical" if held or token != "read" else "high"
            yield obs(
                "gha-untrusted-artifact-executed",
                wf.path,
                line(step.run) if step.run is not None else line(step.node),
                f"{SYSTEM} job '{job.job_id}' downloads artifacts of the triggering run in step "
                f"'{downloaded.label}' and step '{step.label}' executes them under workflow_run"
                + ("; the job holds " + " and ".join(held) if held else "")
                + (
                    "; no permissions block: the token gets the repository's default scope"
                    if token == "default"
                    else ""
                ),
                f"artifact:{job.job_id}:{step.label}",
                system=SYSTEM,
                job=job.job_id,
                step=step.label,
                download_step=downloaded.label,
                holds=held,
                severity=sev,
            )


def _downloads_run_artifacts(step: Step) -> bool:
    if step.uses == "dawidd6/action-download-artifact":
        return True
    if step.uses == "actions/download-artifact":
        return "workflow_run" in (step.with_value("run-id") or "")
    if step.uses == "actions/github-script":
        script = step.with_value("script") or ""
        return "downloadArtifact" in script or "listWorkflowRunArtifacts" in script
    if step.run is not None:
        text = str(step.run.value)
        return "gh run download" in text or ("/artifacts/" in text and "workflow_run" in text)
    return False


_WORKSPACE = re.compile(r"^(\.|\./|\$\{\{\s*github\.workspace\s*\}\}/?|\$GITHUB_WORKSPACE/?)?$")
_GH_DIR = re.compile(r"\s(-D|--dir)[=\s]+[\"']?([^\s\"']+)")


def _download_dir(step: Step) -> str:
    """The last path component the artifacts are extracted into; "" for the workspace itself."""
    if step.run is not None:
        m = _GH_DIR.search(str(step.run.value))
        raw = m.group(2) if m else ""
    else:
        raw = step.with_value("path") or ""
    raw = raw.strip().rstrip("/")
    if _WORKSPACE.match(raw):
        return ""
    return raw.rsplit("/", 1)[-1].removeprefix("./")


_INTERPRETERS = frozenset(
    {"bash", "sh", "zsh", "source", ".", "python", "python3", "node", "ruby", "perl", "pwsh", "chmod"}
)
_TOKENS = re.compile(r"[^\s;&|()]+")


def _executes(step: Step, into: str) -> bool:
    """Whether a step runs what was downloaded. Artifacts extracted into the workspace can replace
    its scripts: anything that executes counts. Artifacts in their own directory count when a
    command runs a file from it (`./dir/x`, `bash dir/x`), runs a build inside it (`cd dir && npm
    install`) or feeds it to `$GITHUB_ENV`/`$GITHUB_PATH`; a file of it passed as an argument to a
    trusted script is data."""
    if step.uses.startswith("./"):
        return not into or into in step.uses
    if step.run is None:
        return False
    inside = False
    for text in str(step.run.value).splitlines():
        if not into:
            if _EXECUTES.search(text):
                return True
            continue
        if into in text and ("GITHUB_ENV" in text or "GITHUB_PATH" in text):
            return True
        tokens = [t.strip("\"'") for t in _TOKENS.findall(text)]
        for prev, tok in zip(["", *tokens], tokens, strict=False):
            if into not in tok:
                continue
            if prev == "cd":
                inside = True
            elif tok.startswith("./") or prev in _INTERPRETERS:
                return True
        if inside and _EXECUTES.search(text):
            return True
    return False
