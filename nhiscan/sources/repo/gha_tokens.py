"""What the tokens of a GitHub Actions workflow may do, and where long-lived ones could be avoided.

* GITHUB_TOKEN scope: ``write-all`` (high unless every job sets its own permissions), write
  scopes granted at workflow level to jobs that show no use of the token, ``id-token: write`` on
  jobs that never exchange an OIDC token;
* the token persisted by ``actions/checkout`` into ``.git/config`` and uploaded as an artifact or
  saved in a cache;
* long-lived publishing tokens where the registry offers OIDC trusted publishing (PyPI, npm,
  RubyGems, crates.io, NuGet) or the job's own token would do (GHCR);
* GitHub App installation tokens minted with everything the installation may do.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from yaml.nodes import Node

from nhiscan.model import Observation
from nhiscan.sources.repo._common import obs
from nhiscan.sources.repo._yaml import get, line, pairs, scalar
from nhiscan.sources.repo.gha_model import SYSTEM, WRITE_ALL, Job, Step, Workflow, secret_names_in

# Actions that never use the job's token to write nor request an OIDC token.
_PLAIN_ACTIONS = re.compile(
    r"^(actions/(checkout|cache|upload-artifact|download-artifact|setup-[\w-]+|cache/[\w-]+)|"
    r"[\w.-]+/setup-[\w.-]+|docker/setup-[\w-]+-action|docker/metadata-action)$"
)
# Actions (and commands) that exchange the job's OIDC token with a cloud, a registry or a signer.
_OIDC_ACTIONS = re.compile(
    r"^(aws-actions/configure-aws-credentials|google-github-actions/auth|azure/login|"
    r"hashicorp/vault-action|pypa/gh-action-pypi-publish|rubygems/(release-gem|configure-rubygems-credentials)|"
    r"rust-lang/crates-io-auth-action|nuget/login|actions/attest[\w-]*|actions/deploy-pages|"
    r"sigstore/[\w-]+|slsa-framework/[\w-]+|codecov/codecov-action|docker/login-action|"
    r"jfrog/setup-jfrog-cli|octo-sts/action|digitalocean/[\w-]+|cloudflare/[\w-]+)$"
)
_OIDC_RUN = re.compile(
    r"ACTIONS_ID_TOKEN_REQUEST|getIDToken|id-token|--provenance|\bcosign\b|gh\s+attestation|oidc|"
    r"trusted[-_ ]publish|"
    # publishers that use the job's OIDC token themselves (trusted publishing)
    r"\b(uv|pdm)\s+publish\b|\b(npm|pnpm)\s+publish\b",
    re.I,
)
_TOKEN_USE = re.compile(
    r"github\.token|secrets\.GITHUB_TOKEN|\bGH_TOKEN\b|\bGITHUB_TOKEN\b|\bgh\s+\w|\bgit\s+(push|tag)\b",
    re.I,
)


def scan(wf: Workflow) -> Iterator[Observation]:
    yield from _write_all(wf)
    yield from _broad_workflow_scopes(wf)
    yield from _id_token(wf)
    for job in wf.jobs:
        yield from _persisted_credentials(wf, job)
        for step in job.steps:
            yield from _publish_token(wf, job, step)
            yield from _app_token(wf, job, step)


# --- GITHUB_TOKEN scope -------------------------------------------------------------------------


def _write_all(wf: Workflow) -> Iterator[Observation]:
    if WRITE_ALL in wf.permissions.writes:
        inheriting = [j.job_id for j in wf.jobs if not j.permissions.declared]
        harmless = not inheriting
        yield obs(
            "gha-permissions-write-all",
            wf.path,
            wf.permissions.key_line,
            f"{SYSTEM} workflow grants GITHUB_TOKEN write-all"
            + (
                ", but every job sets its own permissions, so no job runs with it"
                if harmless
                else f": jobs {', '.join(inheriting)} can push code, publish packages and change releases"
            ),
            "permissions:workflow",
            system=SYSTEM,
            scope="workflow",
            jobs=inheriting,
            severity="low" if harmless else "high",
        )
    for job in wf.jobs:
        if WRITE_ALL in job.permissions.writes:
            yield obs(
                "gha-permissions-write-all",
                wf.path,
                job.permissions.key_line,
                f"{SYSTEM} job {job.job_id} grants GITHUB_TOKEN write-all: every step can push code, publish "
                "packages and change releases",
                f"permissions:job {job.job_id}",
                system=SYSTEM,
                scope=f"job {job.job_id}",
            )


def _uses_token(job: Job) -> bool:
    """Whether a job shows any use of its token: a reference to it, a `gh`/`git push` command, a
    reusable workflow, or an action that may use it (anything but checkout/setup/cache/artifacts)."""
    if job.uses:
        return True
    for step in job.steps:
        if step.uses and not _PLAIN_ACTIONS.match(step.uses):
            return True
    return any(_TOKEN_USE.search(str(s.value)) for s in job.scalars)


def _broad_workflow_scopes(wf: Workflow) -> Iterator[Observation]:
    writes = wf.permissions.writes - {"id-token", WRITE_ALL}
    if not writes:
        return
    inheriting = [j for j in wf.jobs if not j.permissions.declared]
    idle = [j.job_id for j in inheriting if not _uses_token(j)]
    if len(inheriting) < 2 or not idle:
        return
    yield obs(
        "gha-workflow-write-scopes",
        wf.path,
        wf.permissions.key_line,
        f"{SYSTEM} workflow grants write on {', '.join(sorted(writes))} to all {len(inheriting)} jobs without "
        f"their own permissions; jobs {', '.join(idle)} show no use of the token",
        "permissions:workflow-writes",
        system=SYSTEM,
        scopes=sorted(writes),
        idle_jobs=idle,
    )


def _needs_oidc(job: Job) -> bool:
    if job.uses:
        return True  # a reusable workflow: judged where it is defined
    for step in job.steps:
        if step.uses and (_OIDC_ACTIONS.match(step.uses) or not _PLAIN_ACTIONS.match(step.uses)):
            return True  # a known consumer, or an action that may be one
        if step.run is not None and _OIDC_RUN.search(str(step.run.value)):
            return True
    return False


def _id_token(wf: Workflow) -> Iterator[Observation]:
    for job in wf.jobs:
        perm = wf.effective(job)
        if not perm.id_token or WRITE_ALL in perm.writes or _needs_oidc(job):
            continue
        where = "job" if job.permissions.declared else "workflow"
        yield obs(
            "gha-id-token-unused",
            wf.path,
            perm.key_line or line(job.key_node),
            f"{SYSTEM} job '{job.job_id}' may request OIDC tokens (id-token: write, set at {where} level) but "
            "no step authenticates to a cloud or registry with one",
            f"idtoken:{job.job_id}",
            system=SYSTEM,
            job=job.job_id,
            granted_at=where,
        )


# --- credentials persisted into artifacts and caches --------------------------------------------

_WORKSPACE_PATH = re.compile(
    r"^\s*(\.|\./|\.\*|\*|\*\*|\.git|\./\.git|\.git/.*|\$\{\{\s*github\.workspace\s*\}\}/?|"
    r"\$GITHUB_WORKSPACE/?|\$\{GITHUB_WORKSPACE\}/?)\s*$"
)
_OLD_UPLOAD = re.compile(r"@v[1-3](\.|$)")


def _persists(step: Step) -> bool:
    return (
        step.uses == "actions/checkout"
        and (step.with_value("persist-credentials") or "").strip().lower() != "false"
    )


def _whole_workspace(path_value: str | None) -> bool:
    if path_value is None:
        return False
    lines = [p for p in path_value.splitlines() if p.strip() and not p.strip().startswith("!")]
    return any(_WORKSPACE_PATH.match(p) for p in lines)


def _persisted_credentials(wf: Workflow, job: Job) -> Iterator[Observation]:
    checkout: Step | None = None
    for step in job.steps:
        if _persists(step):
            checkout = checkout or step
            continue
        if checkout is None:
            continue
        path_value = step.with_value("path")
        into = ""
        if step.uses == "actions/upload-artifact" and _whole_workspace(path_value):
            hidden = (step.with_value("include-hidden-files") or "").strip().lower() == "true"
            if hidden or _OLD_UPLOAD.search(step.uses_raw):
                into = "an artifact"
        elif step.uses == "actions/cache" and _whole_workspace(path_value):
            into = "a cache"
        if not into:
            continue
        token = checkout.with_value("token") or ""
        pat = secret_names_in(token)
        yield obs(
            "gha-credentials-in-artifact",
            wf.path,
            line(step.node),
            f"{SYSTEM} job '{job.job_id}': step '{checkout.label}' leaves "
            + (f"secret {', '.join(pat)}" if pat else "the job's GITHUB_TOKEN")
            + f" in .git/config (no persist-credentials: false) and step '{step.label}' saves the workspace "
            f"into {into}",
            f"persisted:{job.job_id}:{step.label}",
            system=SYSTEM,
            job=job.job_id,
            step=step.label,
            severity="high" if pat else "medium",
        )


# --- long-lived publishing tokens ---------------------------------------------------------------

# (registry, command regex, env names that carry its token, OIDC alternative)
_PUBLISHERS: tuple[tuple[str, re.Pattern[str], tuple[str, ...], str], ...] = (
    (
        "PyPI",
        re.compile(r"\btwine\s+upload\b|\b(uv|poetry|hatch|flit|pdm)\s+publish\b", re.I),
        (
            "TWINE_PASSWORD",
            "UV_PUBLISH_TOKEN",
            "POETRY_PYPI_TOKEN_PYPI",
            "HATCH_INDEX_AUTH",
            "FLIT_PASSWORD",
            "PDM_PUBLISH_PASSWORD",
        ),
        "PyPI trusted publishing",
    ),
    (
        "npm",
        re.compile(r"\b(npm|pnpm|yarn)\s+(npm\s+)?publish\b", re.I),
        ("NODE_AUTH_TOKEN", "NPM_TOKEN", "NPM_AUTH_TOKEN", "YARN_NPM_AUTH_TOKEN"),
        "npm trusted publishing",
    ),
    (
        "RubyGems",
        re.compile(r"\bgem\s+push\b|\brake\s+release\b", re.I),
        ("GEM_HOST_API_KEY", "RUBYGEMS_API_KEY"),
        "RubyGems trusted publishing",
    ),
    (
        "crates.io",
        re.compile(r"\bcargo\s+publish\b", re.I),
        ("CARGO_REGISTRY_TOKEN",),
        "crates.io trusted publishing",
    ),
    (
        "NuGet",
        re.compile(r"\b(dotnet\s+)?nuget\s+push\b", re.I),
        ("NUGET_API_KEY", "NUGET_AUTH_TOKEN"),
        "NuGet trusted publishing",
    ),
)
# Words each command above contains: in an ASCII script (where case-insensitive matching is
# plain lower-casing), all the words of one of a registry's groups must occur for its regex to
# match (`git push` alone, in many scripts, no longer costs a search for `gem push`).
_PUBLISH_NEEDS: dict[str, tuple[tuple[str, ...], ...]] = {
    "PyPI": (("twine", "upload"), ("publish",)),
    "npm": (("npm", "publish"), ("yarn", "publish")),  # pnpm contains npm
    "RubyGems": (("gem", "push"), ("rake", "release")),
    "crates.io": (("cargo", "publish"),),
    "NuGet": (("nuget", "push"),),
}
_PUBLISH_WORDS = ("upload", "publish", "push", "release")  # one word of every group above
# A flag given `${{ secrets.X }}` (quoted or not) on the command line.
_SECRET_ARG = r"[=\s]+[\"']?\$\{\{\s*secrets\."
_NUGET_KEY_FLAG = re.compile(r"(\s-k|--api-key)" + _SECRET_ARG, re.I)
_CARGO_TOKEN_FLAG = re.compile(r"--token" + _SECRET_ARG, re.I)
_TWINE_FLAG = re.compile(r"(\s-p|--password)" + _SECRET_ARG, re.I)


def _env_secret_names(*envs: Node | None) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for env in envs:
        for name, _, v in pairs(env):
            refs = secret_names_in(scalar(v) or "")
            if refs:
                out[name.upper()] = refs
    return out


def _publish_obs(
    wf: Workflow,
    job: Job,
    step: Step,
    at: int,
    registry: str,
    secrets: list[str],
    alt: str,
    sev: str = "medium",
) -> Observation:
    return obs(
        "gha-long-lived-publish-token",
        wf.path,
        at,
        f"{SYSTEM} job '{job.job_id}' step '{step.label}' publishes to {registry} with long-lived secret "
        f"{', '.join(sorted(set(secrets)))} where {alt} would issue a short-lived token",
        f"publish:{job.job_id}:{step.label}:{registry}",
        system=SYSTEM,
        job=job.job_id,
        step=step.label,
        registry=registry,
        secrets=sorted(set(secrets)),
        severity=sev,
    )


def _publish_token(wf: Workflow, job: Job, step: Step) -> Iterator[Observation]:
    if step.uses == "pypa/gh-action-pypi-publish":
        pw = get(step.with_node, "password")
        refs = secret_names_in(scalar(pw) or "")
        if refs and pw is not None:
            yield _publish_obs(wf, job, step, line(pw), "PyPI", refs, "PyPI trusted publishing")
        return
    if step.uses == "docker/login-action":
        registry = (step.with_value("registry") or "docker.io").strip().lower()
        refs = secret_names_in(step.with_value("password") or "")
        if refs and registry.startswith("ghcr.io"):
            yield _publish_obs(
                wf,
                job,
                step,
                line(step.node),
                "GHCR",
                refs,
                "the job's GITHUB_TOKEN with packages: write",
            )
        return
    if step.run is None:
        return
    script = str(step.run.value)
    low = script.lower() if script.isascii() else None
    if low is not None and not any(w in low for w in _PUBLISH_WORDS):
        return
    env: dict[str, list[str]] | None = None
    for registry, command, names, alt in _PUBLISHERS:
        if low is not None and not any(all(w in low for w in group) for group in _PUBLISH_NEEDS[registry]):
            continue
        if not command.search(script):
            continue
        if env is None:
            env = _env_secret_names(wf.env, job.env, step.env)
        refs = [r for n in names for r in env.get(n, [])]
        if registry == "NuGet" and _NUGET_KEY_FLAG.search(script):
            refs += secret_names_in(script)
        if registry == "crates.io" and _CARGO_TOKEN_FLAG.search(script):
            refs += secret_names_in(script)
        if registry == "PyPI" and _TWINE_FLAG.search(script):
            refs += secret_names_in(script)
        if refs:
            yield _publish_obs(wf, job, step, line(step.run), registry, refs, alt)


# --- GitHub App tokens --------------------------------------------------------------------------

_APP_ACTIONS = ("actions/create-github-app-token", "tibdex/github-app-token")


def _app_token(wf: Workflow, job: Job, step: Step) -> Iterator[Observation]:
    if step.uses not in _APP_ACTIONS:
        return
    keys = {k for k, _, _ in pairs(step.with_node)}
    if step.uses == "actions/create-github-app-token":
        scoped = any(k.startswith("permission-") for k in keys)
        all_repos = "owner" in keys and "repositories" not in keys
    else:
        scoped = "permissions" in keys
        all_repos = "installation_retrieval_mode" in keys and "repositories" not in keys
    if scoped and not all_repos:
        return
    gaps = []
    if not scoped:
        gaps.append("every permission of the app's installation")
    if all_repos:
        gaps.append("every repository of the installation (owner without repositories)")
    yield obs(
        "gha-app-token-full-scope",
        wf.path,
        line(step.node),
        f"{SYSTEM} job '{job.job_id}' step '{step.label}' mints a GitHub App token with "
        + " and ".join(gaps),
        f"apptoken:{job.job_id}:{step.label}",
        system=SYSTEM,
        job=job.job_id,
        step=step.label,
        action=step.uses,
        all_permissions=not scoped,
        all_repositories=all_repos,
    )
