"""GitHub Actions workflow checks (.github/workflows/*.yml).

Each workflow document is read once into a :class:`~nhiscan.sources.repo.gha_model.Workflow`;
the checks here (permissions blocks, secrets in env, static cloud keys, toJSON(secrets),
secrets: inherit, secrets printed to the log) and those of gha_untrusted (pull request code in
privileged runs) and gha_tokens (token scopes, persisted credentials, publishing and app tokens)
all look at that one view.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from yaml.nodes import Node, ScalarNode

from nhiscan.model import Observation
from nhiscan.sources.repo import gha_identity, gha_tokens, gha_untrusted
from nhiscan.sources.repo._common import literal_secret, obs, secret_attrs, secret_name
from nhiscan.sources.repo._yaml import get, line, pairs, scalar, scalars_below, walk_scalars
from nhiscan.sources.repo.gha_model import SYSTEM, Job, Step, Workflow, build, secret_names_in, secret_refs

__all__ = ["SYSTEM", "scan", "secret_refs"]

_TOJSON_SECRETS = re.compile(r"\btojson\s*\(\s*secrets\s*\)", re.I)
_CLOUD_ENV = {
    "AWS_ACCESS_KEY_ID": "aws",
    "AWS_SECRET_ACCESS_KEY": "aws",
    "AZURE_CLIENT_SECRET": "azure",
    "ARM_CLIENT_SECRET": "azure",
    "GOOGLE_CREDENTIALS": "gcp",
    "GCP_SA_KEY": "gcp",
    "GOOGLE_APPLICATION_CREDENTIALS_JSON": "gcp",
}
_PRINTERS = re.compile(r"^\s*(echo|printf|cat\s*<<<|print|write-host|write-output)\b", re.I)
_ENCODERS = re.compile(r"^\s*(base64|rev|xxd|od|hexdump|tr|sed|awk|cut|fold|openssl\s+(base64|enc))\b", re.I)
# A field of a JSON secret: the runner masks the whole secret, never the value of one field.
_FROMJSON_FIELD = re.compile(
    r"\bfromjson\s*\(\s*secrets\s*(\.\s*[\w-]+|\[[^\]]{0,200}\])\s*\)\s*(\.|\[)", re.I
)


def scan(path: str, docs: list[Node]) -> list[Observation]:
    out: list[Observation] = []
    for doc in docs:
        wf = build(path, doc)
        if wf is not None:
            out.extend(_scan_workflow(wf))
            out.extend(gha_untrusted.scan(wf))
            out.extend(gha_tokens.scan(wf))
            out.extend(gha_identity.scan(wf))
    return out


def _scan_workflow(wf: Workflow) -> Iterator[Observation]:
    path = wf.path
    # Jobs without any permissions block take the repository's default scope.
    if not wf.permissions.declared and wf.triggers != {"workflow_call"}:
        # A reusable workflow's token is capped by its caller's permissions: judged at the caller.
        for job in wf.jobs:
            if not job.permissions.declared:
                yield obs(
                    "gha-missing-permissions",
                    path,
                    line(job.key_node),
                    f"{SYSTEM} job '{job.job_id}' has no permissions block (nor has the workflow): its "
                    "GITHUB_TOKEN gets the repository's default scope, which may be read/write on everything",
                    f"job:{job.job_id}",
                    system=SYSTEM,
                    job=job.job_id,
                )

    # Secrets in workflow-level env, static cloud keys and literal credentials in any env block.
    for name, kn, v in pairs(wf.env):
        real = sorted({r for s in walk_scalars(v) for r in secret_names_in(str(s.value))})
        if real:
            yield obs(
                "gha-secrets-in-workflow-env",
                path,
                line(kn),
                f"{SYSTEM} workflow-level env '{name}' holds secret {', '.join(real)}: every step of "
                "every job, including third-party actions, receives it",
                f"env:{name}",
                system=SYSTEM,
                env=name,
                secrets=real,
            )
    yield from _env_checks(path, "workflow", wf.env)
    for job in wf.jobs:
        yield from _env_checks(path, f"job {job.job_id}", job.env)
        for step in job.steps:
            yield from _env_checks(path, f"job {job.job_id} step {step.label}", step.env)

    # toJSON(secrets) anywhere.
    scopes = [("workflow", scalars_below(v)) for k, _, v in pairs(wf.doc) if k != "jobs"]
    scopes += [(j.job_id, j.scalars) for j in wf.jobs]
    for job_id, scalars in scopes:
        for s in scalars:
            if "(" in str(s.value) and _TOJSON_SECRETS.search(str(s.value)):
                yield obs(
                    "gha-tojson-secrets",
                    path,
                    line(s),
                    f"{SYSTEM} workflow serialises the whole secrets context with toJSON(secrets): every "
                    "repository and organisation secret is handed to one place",
                    f"tojson:{job_id}",
                    system=SYSTEM,
                )

    for job in wf.jobs:
        yield from _scan_job(wf, job)


_LOCAL_HOST = re.compile(
    r"^\s*((https?|[a-z]+)://)?(localhost|127\.0\.0\.1|0\.0\.0\.0|\[?::1\]?)([:/]|\s*$)", re.I
)
# An S3-compatible store elsewhere than AWS (Cloudflare R2, MinIO, ...): its keys have no OIDC alternative.
_ENDPOINT_ENV = ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_S3_ENDPOINT", "S3_ENDPOINT")


def _env_checks(path: str, scope: str, env: Node | None) -> Iterator[Observation]:
    if env is None:
        return
    values = {name.upper(): scalar(v) or "" for name, _, v in pairs(env)}
    # Credentials next to a service on this machine (a database or MinIO container of the job)
    # are that throwaway service's, not a credential of anything else.
    local = any(_LOCAL_HOST.match(v) for v in values.values())
    not_aws = any(values.get(n) and "amazonaws.com" not in values[n] for n in _ENDPOINT_ENV)
    cloud_hits: dict[str, list[tuple[str, ScalarNode]]] = {}
    for name, kn, v in pairs(env):
        value = scalar(v)
        if value is None or not value.strip():
            continue
        cloud = _CLOUD_ENV.get(name.upper())
        if cloud and not (cloud == "aws" and not_aws):
            cloud_hits.setdefault(cloud, []).append((name, kn))
        if secret_name(name) and literal_secret(value):
            yield obs(
                "ci-literal-credential",
                path,
                line(kn),
                f"{SYSTEM}: {scope} env '{name}' is set to a literal credential in the file"
                + (" (next to a service on localhost: a throwaway test credential?)" if local else ""),
                f"{scope}:{name}",
                system=SYSTEM,
                env=name,
                **secret_attrs(value),
                **({"severity": "low", "local_service": True} if local else {}),
            )
    for cloud, hits in cloud_hits.items():
        names = [n for n, _ in hits]
        yield obs(
            "gha-static-cloud-credentials",
            path,
            line(hits[0][1]),
            f"{SYSTEM}: {scope} env sets long-lived {cloud.upper()} credentials ({', '.join(names)}) where OIDC "
            "federation would issue short-lived ones",
            f"env:{scope}:{cloud}",
            system=SYSTEM,
            cloud=cloud,
            variables=names,
        )


def _scan_job(wf: Workflow, job: Job) -> Iterator[Observation]:
    path = wf.path
    secrets_node = get(job.node, "secrets")
    if (scalar(secrets_node) or "").strip().lower() == "inherit":
        kn = next(k for n, k, _ in pairs(job.node) if n == "secrets")
        callee = job.uses or "a reusable workflow"
        yield obs(
            "gha-secrets-inherit",
            path,
            line(kn),
            f"{SYSTEM} job '{job.job_id}' passes every secret of the caller to {callee} (secrets: inherit)",
            f"inherit:{job.job_id}",
            system=SYSTEM,
            job=job.job_id,
            callee=callee,
        )

    outer: set[str] | None = None  # env names holding secrets at workflow and job level
    for step in job.steps:
        yield from _static_cloud_step(path, job.job_id, step)
        if step.run is not None:
            if outer is None:
                outer = _secret_env_names(wf.env, job.env)
            env_secrets = outer | _secret_env_names(step.env)
            yield from _echoed(path, job.job_id, step.label, step.run, env_secrets)


def _static_cloud_step(path: str, job_id: str, step: Step) -> Iterator[Observation]:
    keys: tuple[str, ...] = ()
    cloud = what = ""
    if step.uses == "aws-actions/configure-aws-credentials":
        keys, cloud, what = (
            ("aws-access-key-id", "aws-secret-access-key"),
            "aws",
            "aws-access-key-id/aws-secret-access-key",
        )
    elif step.uses == "azure/login":
        keys, cloud, what = ("creds",), "azure", "creds (service principal secret JSON)"
    elif step.uses in ("google-github-actions/auth", "google-github-actions/setup-gcloud"):
        keys, cloud = ("credentials_json", "service_account_key"), "gcp"
    for key, kn, _ in pairs(step.with_node):
        if key in keys:
            yield obs(
                "gha-static-cloud-credentials",
                path,
                line(kn),
                f"{SYSTEM} job '{job_id}' step '{step.label}' authenticates to {cloud.upper()} with a long-lived "
                f"{what or key + ' (service account key)'} where OIDC federation would issue short-lived credentials",
                f"step:{job_id}:{step.label}:{cloud}",
                system=SYSTEM,
                cloud=cloud,
                job=job_id,
                step=step.label,
            )
            return


def _secret_env_names(*envs: Node | None) -> set[str]:
    names: set[str] = set()
    for env in envs:
        for name, _, v in pairs(env):
            if any(secret_names_in(str(s.value)) for s in walk_scalars(v)):
                names.add(name)
    return names


def _run_lines(run: ScalarNode) -> Iterator[tuple[int, str]]:
    first = line(run) + (1 if run.style in ("|", ">") else 0)
    for i, text in enumerate(str(run.value).splitlines()):
        yield first + i, text


def _echoed(
    path: str, job_id: str, label: str, run: ScalarNode, env_secrets: set[str]
) -> Iterator[Observation]:
    script = str(run.value)
    if not env_secrets and "secrets" not in script.lower():
        return
    env_ref = _EnvRefs(env_secrets) if env_secrets else None
    xtrace = re.search(r"^\s*set\s+-[a-z]*x", script, re.M) is not None
    for lineno, text in _run_lines(run):
        refs = secret_names_in(text)
        if env_ref is not None:
            refs += [m.group(1) for m in env_ref.finditer(text)]
        if not refs or "::add-mask::" in text:
            continue
        how = _prints(text, env_ref)
        if how is None and xtrace:
            how = ("is traced by `set -x`, which prints the expanded command", False)
        if how is None:
            continue
        message, defeats = how
        if not defeats and _FROMJSON_FIELD.search(text):
            message, defeats = "prints a field of a JSON secret (only the whole secret is masked)", True
        if not defeats and env_ref is not None and _transformed_expansion(text, env_secrets):
            message, defeats = (
                "prints a substring or substitution of a secret (masking cannot catch it)",
                True,
            )
        yield obs(
            "gha-secret-echoed",
            path,
            lineno,
            f"{SYSTEM} job '{job_id}' step '{label}' {message} with secret {', '.join(sorted(set(refs)))}"
            + ("" if defeats else " (the runner masks the exact value in the log)"),
            f"echo:{job_id}:{label}:{','.join(sorted(set(refs)))}",
            system=SYSTEM,
            job=job_id,
            step=label,
            secrets=sorted(set(refs)),
            defeats_masking=defeats,
            severity="high" if defeats else "low",
        )


class _EnvRefs:
    """`$NAME` / `${NAME...` references to a set of variable names (one shared regex)."""

    _REF = re.compile(r"\$\{?(\w+)")

    def __init__(self, names: set[str]) -> None:
        self.names = names

    def finditer(self, text: str) -> Iterator[re.Match[str]]:
        if "$" in text:
            yield from (m for m in self._REF.finditer(text) if m.group(1) in self.names)

    def search(self, text: str) -> re.Match[str] | None:
        return next(self.finditer(text), None)


def _transformed_expansion(text: str, names: set[str]) -> bool:
    """`${NAME:0:4}`, `${NAME//a/b}`, `${NAME#x}`, `${NAME%x}`, `${NAME^^}`: a piece or a changed
    copy of the secret, which the runner's exact-match masking does not recognise."""
    for m in re.finditer(r"\$\{(\w+)([:#%/^,])", text):
        if (
            m.group(1) in names
            and not text.startswith(":-", m.end() - 1)
            and not text.startswith(":=", m.end() - 1)
        ):
            return True
    return False


def _prints(text: str, env_ref: _EnvRefs | None) -> tuple[str, bool] | None:
    """How a command line sends a secret it mentions to the log, if it does, and whether what
    it prints escapes masking (an encoded or transformed copy)."""
    for command in re.split(r"&&|\|\||;", text):
        if not (next(secret_refs(command), None) or (env_ref is not None and env_ref.search(command))):
            continue
        how = _prints_command(command)
        if how:
            return how
    return None


def _prints_command(text: str) -> tuple[str, bool] | None:
    segments = text.split("|")
    for idx, seg in enumerate(segments):
        if not _PRINTERS.match(seg):
            continue
        rest = segments[idx + 1 :]
        if any(not _ENCODERS.match(r) for r in rest):
            if "$(" in seg and any(_ENCODERS.match(r.lstrip("( ")) for r in rest):
                return "prints an encoded copy (masking cannot catch it)", True
            return None  # piped into a consumer (e.g. docker login --password-stdin)
        if ">" in (rest[-1] if rest else seg).replace("2>&1", ""):
            return None  # redirected to a file
        if rest:
            return "prints an encoded copy (masking cannot catch it)", True
        return "prints to the log", False
    return None
