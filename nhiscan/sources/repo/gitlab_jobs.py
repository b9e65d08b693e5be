"""GitLab CI: where the job token goes, and what merge-request jobs read from stored variables.

* ``gitlab-job-token-exposed``: ``$CI_JOB_TOKEN`` sent to a host that is not recognisably a GitLab
  instance (high: a third party receives a token acting as the pipeline's user; GitLab URL forms
  count as GitLab's, whatever the host's name), written into a file the
  job's artifacts keep (medium), or used against another project's API from a job of merge-request
  pipelines (medium: code under review acts on that project through its job-token allowlist).
* ``gitlab-unprotected-variable-in-mr``: one fact per merge-request job (the variables its scripts
  read, its environment); the rule's check matches them with a project variables export
  (``glab variable list -F json``, the API's ``/projects/:id/variables``), which says which stored
  variables are unprotected and so reach those jobs.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterator

from yaml.nodes import MappingNode, Node, ScalarNode

from nhiscan.model import Observation
from nhiscan.sources.repo._common import obs
from nhiscan.sources.repo._yaml import get, line, pairs, scalar, walk_scalars
from nhiscan.sources.repo.gitlab_identities import _RESERVED, _rules_mention_mr, _runs_in_mr

GITLAB = "GitLab CI"
TOKEN_RULE = "gitlab-job-token-exposed"
VARIABLE_RULE = "gitlab-unprotected-variable-in-mr"

_TOKEN = re.compile(r"\$\{?CI_JOB_TOKEN\b")
# scheme://[userinfo@]host[/rest]: a literal host (a `$VAR` host is the instance's or unknown).
_URL_FULL = re.compile(r"https?://(?:([^@/\s\"']{0,200})@)?([A-Za-z0-9.-]+(?::\d+)?)([^\s\"']*)")
_WRITES = re.compile(r"(>>?|\btee\b(\s+-a)?)\s*['\"]?([^\s'\";|&]+)")
_OTHER_PROJECT = re.compile(r"/projects/([^/\s\"']+)")
_VAR_REF = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)")
_PREDEFINED = re.compile(r"^(CI_|GITLAB_|FF_)")


def scan(path: str, docs: list[Node]) -> Iterator[Observation]:
    for doc in docs:
        if isinstance(doc, MappingNode):
            workflow_mr = bool(_rules_mention_mr(get(get(doc, "workflow"), "rules")))
            for name, kn, job in pairs(doc):
                if name in _RESERVED or name.startswith(".") or not isinstance(job, MappingNode):
                    continue
                in_mr = _runs_in_mr(job, workflow_mr)
                yield from _job_token(path, name, job, in_mr)
                if in_mr:
                    yield from _mr_fact(path, doc, name, kn, job)


def _script_lines(job: Node) -> Iterator[tuple[int, str]]:
    for key in ("before_script", "script", "after_script"):
        for s in walk_scalars(get(job, key)):
            first = line(s) + (1 if s.style in ("|", ">") else 0)
            for i, text in enumerate(str(s.value).splitlines()):
                yield first + i, text


def _artifact_paths(job: Node) -> list[str] | None:
    art = get(job, "artifacts")
    if not isinstance(art, MappingNode):
        return None
    if (scalar(get(art, "untracked")) or "").strip().lower() == "true":
        return ["*"]
    return [str(s.value).strip() for s in walk_scalars(get(art, "paths"))]


def _kept(file: str, kept: list[str] | None) -> bool:
    if not kept:
        return False
    f = file.strip().lstrip("./")
    for p in kept:
        q = p.strip().lstrip("./").rstrip("/")
        if q in ("", "*", ".") or f == q or f.startswith(q + "/"):
            return True
        if "*" in q and len(q) <= 200 and q.count("*") <= 4 and len(f) <= 1000 and fnmatch.fnmatchcase(f, q):
            return True
    return False


def _job_token(path: str, name: str, job: Node, in_mr: bool) -> Iterator[Observation]:
    kept = _artifact_paths(job)
    for lineno, text in _script_lines(job):
        if "CI_JOB_TOKEN" not in text or not _TOKEN.search(text):
            continue
        what = severity = ""
        for command in re.split(r"&&|\|\||;|\|", text):
            if "CI_JOB_TOKEN" not in command:
                continue
            host = next((h for h in _outside_hosts(command)), None)
            if host:
                what, severity = f"sends the job token to {host}, which is not a GitLab instance", "high"
                break
        if not what:
            for w in _WRITES.finditer(text):
                target = w.group(3)
                if target.startswith(("/dev/", "&")) or "$GITLAB_ENV" in target:
                    continue
                if _kept(target, kept):
                    what, severity = (
                        f"writes the job token into {target}, which the job's artifacts keep",
                        "medium",
                    )
                    break
        if not what and in_mr:
            other = [
                p
                for p in _OTHER_PROJECT.findall(text)
                if "CI_PROJECT_ID" not in p and "CI_PROJECT_PATH" not in p
            ]
            if other:
                what, severity = (
                    f"uses the job token on project {other[0]} from a merge-request pipeline (code under review "
                    "acts on that project through its job-token allowlist)",
                    "medium",
                )
        if what:
            yield obs(
                TOKEN_RULE,
                path,
                lineno,
                f"{GITLAB} job '{name}' {what}",
                f"jobtoken:{name}:{what.split(' ', 1)[0]}",
                system=GITLAB,
                job=name,
                merge_request=in_mr,
                severity=severity,
            )


def _gitlab_host(host: str) -> bool:
    h = host.lower().split(":")[0]
    return h == "gitlab.com" or h.endswith(".gitlab.com") or h.startswith("gitlab.") or "$" in h


def _outside_hosts(command: str) -> Iterator[str]:
    """Literal hosts of URLs in one command that are not recognisably a GitLab instance: a self-managed
    instance may have any name, so GitLab's own URL forms count too (`/api/v4/`, `/-/` paths, a
    `.git` remote, the `gitlab-ci-token` user)."""
    for m in _URL_FULL.finditer(command):
        userinfo, host, rest = m.group(1) or "", m.group(2), m.group(3) or ""
        if _gitlab_host(host) or "gitlab-ci-token" in userinfo:
            continue
        if "/api/v4" in rest or "/-/" in rest or re.search(r"\.git(/|$|\s|\?)", rest):
            continue
        yield host


def _mr_fact(path: str, doc: Node, name: str, kn: ScalarNode, job: Node) -> Iterator[Observation]:
    local = {k for k, _, _ in pairs(get(doc, "variables"))} | {k for k, _, _ in pairs(get(job, "variables"))}
    used: set[str] = set()
    for _, text in _script_lines(job):
        for m in _VAR_REF.finditer(text):
            var = m.group(1)
            if not _PREDEFINED.match(var) and var not in local:
                used.add(var)
    # Variables also reach a job through `variables:` values that reference them.
    for s in walk_scalars(get(job, "variables")):
        used.update(v for v in _VAR_REF.findall(str(s.value)) if not _PREDEFINED.match(v))
    if not used:
        return
    env = get(job, "environment")
    env_name = scalar(get(env, "name")) if isinstance(env, MappingNode) else scalar(env)
    yield obs(
        VARIABLE_RULE,
        path,
        line(kn),
        f"{GITLAB} job '{name}' runs in merge-request pipelines and reads {', '.join(sorted(used))}",
        f"mrjob:{name}",
        fact="gitlab-mr-job",
        system=GITLAB,
        job=name,
        variables=sorted(used),
        environment=env_name,
    )
