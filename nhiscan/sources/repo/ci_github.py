"""GitHub Actions workflow checks (.github/workflows/*.yml)."""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from nhiscan.model import Observation
from nhiscan.sources.repo._common import literal_secret, obs, secret_attrs, secret_name
from nhiscan.sources.repo._yaml import (
    get,
    get_pair,
    items,
    line,
    pairs,
    scalar,
    walk_scalars,
)

SYSTEM = "GitHub Actions"
# `${{ ... secrets.NAME ... }}` / `secrets['NAME']`: as the regex
# r"\$\{\{[^}]*\bsecrets\s*(TAIL)" would find it, by secret_refs (that regex tries every `${{` to
# the next `}`: quadratic on a line of many unclosed `${{`).
_SECRETS_TAIL = re.compile(r"\bsecrets\s*(\.\s*([A-Za-z0-9_-]+)|\[\s*['\"]([^'\"]+)['\"]\s*\])", re.I)
_SECRETS_WORD = re.compile(r"\bsecrets", re.I)


def secret_refs(text: str) -> Iterator[re.Match[str]]:
    """What ``finditer`` of the regex above yields (its groups 2 and 3: the names), in linear time.

    For a `${{` at s, the greedy ``[^}]*`` makes the regex take the last ``secrets`` reference
    between s and the next `}` (at e). If there is none, no later `${{` before e has one either
    (its candidates are a subset), so the search resumes at e; after a match, the candidates up to
    e that follow it have all failed already, so it resumes at the match's end or e.
    """
    if "${{" not in text:
        return
    words = [m.start() for m in _SECRETS_WORD.finditer(text)]
    pos = 0
    while True:
        start = text.find("${{", pos)
        if start < 0:
            return
        end = text.find("}", start + 3)
        end = len(text) if end < 0 else end
        found = None
        for word in reversed(words[bisect.bisect_left(words, start + 3) : bisect.bisect_right(words, end)]):
            found = _SECRETS_TAIL.match(text, word)
            if found:
                break
        if found is None:
            pos = end
            continue
        yield found
        pos = max(found.end(), end)


_TOJSON_SECRETS = re.compile(r"\btojson\s*\(\s*secrets\s*\)", re.I)
_UNTRUSTED_REF = re.compile(
    r"github\.event\.pull_request\.head\.(sha|ref)|github\.head_ref|refs/pull/|"
    r"github\.event\.workflow_run\.head_(sha|branch)|github\.event\.workflow_run\.pull_requests",
    re.I,
)
_UNTRUSTED_RUN = re.compile(
    r"\bgh\s+pr\s+checkout\b|\bgit\s+(fetch|checkout)\b.*(refs/pull/|head_ref|head\.(sha|ref))", re.I
)
_PRIVILEGED_TRIGGERS = ("pull_request_target", "workflow_run")
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


def _uses(step: Node) -> str:
    return (scalar(get(step, "uses")) or "").split("@", 1)[0].strip().lower()


def _step_label(index: int, step: Node) -> str:
    return (
        scalar(get(step, "id")) or scalar(get(step, "name")) or scalar(get(step, "uses")) or f"steps[{index}]"
    )


def _triggers(doc: Node) -> tuple[set[str], int]:
    pair = get_pair(doc, "on")
    if pair is None:
        pair = get_pair(doc, "true")  # a document constructed elsewhere; harmless here
    if pair is None:
        return set(), 1
    kn, value = pair
    if isinstance(value, ScalarNode):
        names = {str(value.value)}
    elif isinstance(value, SequenceNode):
        names = {str(s.value) for s in value.value if isinstance(s, ScalarNode)}
    else:
        names = {k for k, _, _ in pairs(value)}
    return names, line(kn)


def scan(path: str, docs: list[Node]) -> list[Observation]:
    out: list[Observation] = []
    for doc in docs:
        if isinstance(doc, MappingNode) and get(doc, "jobs") is not None:
            out.extend(_scan_workflow(path, doc))
    return out


def _secret_names(node: Node | None) -> Iterator[tuple[str, ScalarNode, Node, list[str]]]:
    """(env var, key node, value node, secret names referenced) for an env mapping."""
    for name, kn, v in pairs(node):
        refs: list[str] = []
        for s in walk_scalars(v):
            refs += [m.group(2) or m.group(3) for m in secret_refs(str(s.value))]
        yield name, kn, v, refs


def _scan_workflow(path: str, doc: Node) -> Iterator[Observation]:
    triggers, _on_line = _triggers(doc)
    top_perm = get_pair(doc, "permissions")
    wf_env = get(doc, "env")
    jobs = list(pairs(get(doc, "jobs")))

    # Permissions.
    if top_perm is not None:
        yield from _write_all(path, top_perm, "workflow")
    for job_id, job_kn, job in jobs:
        job_perm = get_pair(job, "permissions")
        if job_perm is not None:
            yield from _write_all(path, job_perm, f"job {job_id}")
        elif top_perm is None and triggers != {"workflow_call"}:
            # A reusable workflow's token is capped by its caller's permissions: judged at the caller.
            yield obs(
                "gha-missing-permissions",
                path,
                line(job_kn),
                f"{SYSTEM} job '{job_id}' has no permissions block (nor has the workflow): its GITHUB_TOKEN "
                "gets the repository's default scope, which may be read/write on everything",
                f"job:{job_id}",
                system=SYSTEM,
                job=job_id,
            )

    # Secrets in workflow-level env, static cloud keys and literal credentials in any env block.
    for name, kn, _v, refs in _secret_names(wf_env):
        real = [r for r in refs if r.upper() != "GITHUB_TOKEN"]
        if real:
            yield obs(
                "gha-secrets-in-workflow-env",
                path,
                line(kn),
                f"{SYSTEM} workflow-level env '{name}' holds secret {', '.join(sorted(set(real)))}: every step of "
                "every job, including third-party actions, receives it",
                f"env:{name}",
                system=SYSTEM,
                env=name,
                secrets=sorted(set(real)),
            )
    env_blocks: list[tuple[str, Node | None]] = [("workflow", wf_env)]
    for job_id, _, job in jobs:
        env_blocks.append((f"job {job_id}", get(job, "env")))
        for i, step in enumerate(items(get(job, "steps"))):
            env_blocks.append((f"job {job_id} step {_step_label(i, step)}", get(step, "env")))
    for scope, env in env_blocks:
        yield from _env_checks(path, scope, env)

    # toJSON(secrets) anywhere.
    for s in walk_scalars(doc):
        if _TOJSON_SECRETS.search(str(s.value)):
            yield obs(
                "gha-tojson-secrets",
                path,
                line(s),
                f"{SYSTEM} workflow serialises the whole secrets context with toJSON(secrets): every repository "
                "and organisation secret is handed to one place",
                f"tojson:{_context_of(doc, s)}",
                system=SYSTEM,
            )

    privileged = sorted(t for t in triggers if t in _PRIVILEGED_TRIGGERS)
    for job_id, job_kn, job in jobs:
        yield from _scan_job(path, job_id, job_kn, job, wf_env, privileged)


def _context_of(doc: Node, target: Node) -> str:
    for job_id, _, job in pairs(get(doc, "jobs")):
        if any(s is target for s in walk_scalars(job)):
            return job_id
    return "workflow"


def _write_all(path: str, perm: tuple[ScalarNode, Node], where: str) -> Iterator[Observation]:
    kn, v = perm
    value = scalar(v)
    if value is not None and value.strip().lower() == "write-all":
        yield obs(
            "gha-permissions-write-all",
            path,
            line(kn),
            f"{SYSTEM} {where} grants GITHUB_TOKEN write-all: every step can push code, publish packages and "
            "change releases",
            f"permissions:{where}",
            system=SYSTEM,
            scope=where,
        )


def _env_checks(path: str, scope: str, env: Node | None) -> Iterator[Observation]:
    if env is None:
        return
    cloud_hits: dict[str, list[tuple[str, ScalarNode]]] = {}
    for name, kn, v in pairs(env):
        value = scalar(v)
        if value is None or not value.strip():
            continue
        cloud = _CLOUD_ENV.get(name.upper())
        if cloud:
            cloud_hits.setdefault(cloud, []).append((name, kn))
        if secret_name(name) and literal_secret(value):
            yield obs(
                "ci-literal-credential",
                path,
                line(kn),
                f"{SYSTEM}: {scope} env '{name}' is set to a literal credential in the file",
                f"{scope}:{name}",
                system=SYSTEM,
                env=name,
                **secret_attrs(value),
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


def _scan_job(
    path: str, job_id: str, job_kn: ScalarNode, job: Node, wf_env: Node | None, privileged: list[str]
) -> Iterator[Observation]:
    secrets_pair = get_pair(job, "secrets")
    if secrets_pair is not None and (scalar(secrets_pair[1]) or "").strip().lower() == "inherit":
        callee = scalar(get(job, "uses")) or "a reusable workflow"
        yield obs(
            "gha-secrets-inherit",
            path,
            line(secrets_pair[0]),
            f"{SYSTEM} job '{job_id}' passes every secret of the caller to {callee} (secrets: inherit)",
            f"inherit:{job_id}",
            system=SYSTEM,
            job=job_id,
            callee=callee,
        )

    job_env = get(job, "env")
    for i, step in enumerate(items(get(job, "steps"))):
        label = _step_label(i, step)
        uses = _uses(step)
        with_node = get(step, "with")
        if uses == "aws-actions/configure-aws-credentials":
            pair = _first_pair(with_node, "aws-access-key-id", "aws-secret-access-key")
            if pair is not None:
                yield _static_cloud(
                    path, job_id, label, pair[0], "aws", "aws-access-key-id/aws-secret-access-key"
                )
        elif uses == "azure/login":
            pair = get_pair(with_node, "creds")
            if pair is not None:
                yield _static_cloud(
                    path, job_id, label, pair[0], "azure", "creds (service principal secret JSON)"
                )
        elif uses in ("google-github-actions/auth", "google-github-actions/setup-gcloud"):
            pair = _first_pair(with_node, "credentials_json", "service_account_key")
            if pair is not None:
                yield _static_cloud(
                    path, job_id, label, pair[0], "gcp", f"{pair[0].value} (service account key)"
                )

        if privileged:
            yield from _untrusted_checkout(path, job_id, label, step, uses, with_node, privileged)

        run = get(step, "run")
        if isinstance(run, ScalarNode):
            env_secrets = _secret_env_names(wf_env, job_env, get(step, "env"))
            yield from _echoed(path, job_id, label, run, env_secrets)


def _first_pair(node: Node | None, *keys: str) -> tuple[ScalarNode, Node] | None:
    for key, kn, v in pairs(node):
        if key in keys:
            return kn, v
    return None


def _static_cloud(path: str, job_id: str, label: str, kn: ScalarNode, cloud: str, what: str) -> Observation:
    return obs(
        "gha-static-cloud-credentials",
        path,
        line(kn),
        f"{SYSTEM} job '{job_id}' step '{label}' authenticates to {cloud.upper()} with a long-lived {what} "
        "where OIDC federation would issue short-lived credentials",
        f"step:{job_id}:{label}:{cloud}",
        system=SYSTEM,
        cloud=cloud,
        job=job_id,
        step=label,
    )


def _untrusted_checkout(
    path: str, job_id: str, label: str, step: Node, uses: str, with_node: Node | None, triggers: list[str]
) -> Iterator[Observation]:
    hit: tuple[ScalarNode, str] | None = None
    if uses == "actions/checkout":
        pair = get_pair(with_node, "ref") or get_pair(with_node, "repository")
        if pair is not None and _UNTRUSTED_REF.search(scalar(pair[1]) or ""):
            hit = (pair[0], f"checks out {scalar(pair[1])}")
    run = get(step, "run")
    if hit is None and isinstance(run, ScalarNode) and _UNTRUSTED_RUN.search(str(run.value)):
        hit = (run, "fetches the pull request head in a script")
    if hit is not None:
        yield obs(
            "gha-untrusted-checkout-with-secrets",
            path,
            line(hit[0]),
            f"{SYSTEM} job '{job_id}' step '{label}' {hit[1]} under {'/'.join(triggers)}, which runs with the "
            "repository's secrets and a write token: code from a fork can steal them",
            f"checkout:{job_id}:{label}",
            system=SYSTEM,
            job=job_id,
            step=label,
            triggers=triggers,
        )


def _secret_env_names(*envs: Node | None) -> set[str]:
    names: set[str] = set()
    for env in envs:
        for name, _, _, refs in _secret_names(env):
            if [r for r in refs if r.upper() != "GITHUB_TOKEN"]:
                names.add(name)
    return names


def _run_lines(run: ScalarNode) -> Iterator[tuple[int, str]]:
    first = line(run) + (1 if run.style in ("|", ">") else 0)
    for i, text in enumerate(str(run.value).splitlines()):
        yield first + i, text


def _echoed(
    path: str, job_id: str, label: str, run: ScalarNode, env_secrets: set[str]
) -> Iterator[Observation]:
    env_ref = (
        re.compile(r"\$\{?(" + "|".join(re.escape(n) for n in sorted(env_secrets)) + r")\b")
        if env_secrets
        else None
    )
    script = str(run.value)
    xtrace = re.search(r"^\s*set\s+-[a-z]*x", script, re.M) is not None
    for lineno, text in _run_lines(run):
        refs = [m.group(2) or m.group(3) for m in secret_refs(text)]
        refs = [r for r in refs if r.upper() != "GITHUB_TOKEN"]
        if env_ref is not None:
            refs += [m.group(1) for m in env_ref.finditer(text)]
        if not refs or "::add-mask::" in text:
            continue
        how = _prints(text, env_ref)
        if how is None and xtrace:
            how = "is traced by `set -x`, which prints the expanded command"
        if how is not None:
            yield obs(
                "gha-secret-echoed",
                path,
                lineno,
                f"{SYSTEM} job '{job_id}' step '{label}' {how} with secret {', '.join(sorted(set(refs)))}",
                f"echo:{job_id}:{label}:{','.join(sorted(set(refs)))}",
                system=SYSTEM,
                job=job_id,
                step=label,
                secrets=sorted(set(refs)),
            )


def _prints(text: str, env_ref: re.Pattern[str] | None) -> str | None:
    """How a command line sends a secret it mentions to the log, if it does."""
    for command in re.split(r"&&|\|\||;", text):
        if not (next(secret_refs(command), None) or (env_ref is not None and env_ref.search(command))):
            continue
        how = _prints_command(command)
        if how:
            return how
    return None


def _prints_command(text: str) -> str | None:
    segments = text.split("|")
    for idx, seg in enumerate(segments):
        if not _PRINTERS.match(seg):
            continue
        rest = segments[idx + 1 :]
        if any(not _ENCODERS.match(r) for r in rest):
            return None  # piped into a consumer (e.g. docker login --password-stdin)
        if ">" in (rest[-1] if rest else seg).replace("2>&1", ""):
            return None  # redirected to a file
        if rest:
            return "prints an encoded copy (masking cannot catch it)"
        return "prints to the log"
    return None
