"""CI workflows and the cloud trusts their OIDC tokens meet.

The repository source records one fact per workflow job that exchanges its GitHub OIDC token for a
cloud identity (``sources/repo/gha_identity.py``): the role it names (a literal ARN, or an
expression), the audience, and the `sub` claims its runs carry. This module reads those facts and
the trusts of the inventory's identities:

* AWS roles whose trust policy admits ``token.actions.githubusercontent.com`` (its `sub` and `aud`
  conditions, StringEquals or StringLike);
* Azure service principals whose application has GitHub federated credentials (exact subjects).

``match`` tells which workflow jobs can become which identity, and through which condition;
``breadth`` tells what more a trust admits than a pinned branch or environment of one repository.
Both are used by the rule ``oidc-trust-too-broad`` and by the escalation graph (``edges_ci``).

A repository's owner is not in a checkout's name (``Location.repository_name`` is the remote's
last component): a trust's ``repo:OWNER/REPO`` matches a scanned repository by REPO, and the owner
is decided only when the workflow pins itself (``github.repository == 'OWNER/REPO'``); otherwise the
match says the owner was not checked.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from nhiscan.analyze import ci_oidc_gcp
from nhiscan.model import Identity, Inventory, Trust

FACT_RULE = "oidc-trust-too-broad"
GITHUB_ISSUER = "token.actions.githubusercontent.com"
_POSITIVE = re.compile(r"^(for(any|all)value:)?string(equals|like)(ignorecase)?(ifexists)?$", re.I)


@dataclass(frozen=True)
class WorkflowJob:
    """One job that assumes a cloud identity through OIDC (from the repository's facts)."""

    repository_name: str
    path: str
    line: int | None
    job: str
    cloud: str
    target: str
    audience: str | None
    subjects: tuple[str, ...]
    owner_repo: str | None
    id_token: bool
    provider: str | None = None  # GCP: the workload identity provider the job names

    @property
    def node(self) -> str:
        return f"workflow:{self.repository_name}:{self.path}"

    def repo_names(self) -> set[str]:
        """The names the repository may have on GitHub: the remote's name and the scanned directory's."""
        parts = [p for p in self.repository_name.replace("\\", "/").split("/") if p]
        names = {parts[0].lower(), parts[-1].lower()} if parts else set()
        if self.owner_repo:
            names = {self.owner_repo.split("/", 1)[1].lower()}
        return names


def workflow_jobs(inventory: Inventory) -> list[WorkflowJob]:
    out: list[WorkflowJob] = []
    for o in inventory.observations:
        a = o.attributes
        if o.rule_id != FACT_RULE or a.get("fact") != "ci-oidc-assume":
            continue
        subjects = a.get("subjects")
        out.append(
            WorkflowJob(
                repository_name=o.location.repository_name or o.location.repository or "",
                path=o.location.path,
                line=o.location.line,
                job=str(a.get("job", "")),
                cloud=str(a.get("cloud", "")),
                target=str(a.get("target", "")),
                audience=str(a["audience"]) if a.get("audience") else None,
                subjects=tuple(str(s) for s in subjects) if isinstance(subjects, list) else ("*",),
                owner_repo=str(a["repository"]) if a.get("repository") else None,
                id_token=a.get("id_token") is not False,
                provider=str(a["provider"]) if a.get("provider") else None,
            )
        )
    return out


# --- trusts ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pattern:
    """One admitted `sub` value: ``like`` when StringLike (``*`` and ``?`` are wildcards)."""

    value: str
    like: bool

    @property
    def owner(self) -> str | None:
        m = re.match(r"^repo:([^/:]*)/", self.value)
        return m.group(1) if m else None

    @property
    def repo(self) -> str | None:
        m = re.match(r"^repo:[^/:]*/([^:]*)", self.value)
        return m.group(1) if m else None

    @property
    def rest(self) -> str | None:
        m = re.match(r"^repo:[^/:]*/[^:]*:(.*)$", self.value)
        return m.group(1) if m else None

    def wild(self, text: str | None) -> bool:
        return self.like and text is not None and ("*" in text or "?" in text)


@dataclass(frozen=True)
class GithubTrust:
    """A trust statement (or federated credential) that admits GitHub Actions OIDC tokens."""

    identity: Identity
    subs: tuple[Pattern, ...] | None  # None: no sub condition
    auds: tuple[str, ...] | None  # None: no aud condition
    where: str  # how people name the trust: the provider ARN, or the federated credential's name
    kind: str  # "aws-trust" | "azure-federated-credential" | "gcp-workload-identity"
    # GCP: parts of the provider's attribute condition (or the member) that could not be decided;
    # the patterns are then an upper bound (ci_oidc_gcp.py)
    undecided: tuple[str, ...] = ()
    gcp: ci_oidc_gcp.GcpTrust | None = None


def _values(conditions: Mapping[str, Any], claim: str) -> tuple[Pattern, ...] | None:
    found: list[Pattern] | None = None
    for op, body in conditions.items():
        if not _POSITIVE.match(str(op)) or not isinstance(body, Mapping):
            continue
        like = "like" in str(op).lower()
        for key, value in body.items():
            k = str(key).lower()
            if k.startswith(GITHUB_ISSUER) and k.endswith(":" + claim):
                vals = value if isinstance(value, list) else [value]
                found = (found or []) + [Pattern(str(v), like) for v in vals]
    return tuple(found) if found is not None else None


def _assumes(t: Trust) -> bool:
    return t.effect.lower() == "allow" and (
        not t.actions
        or any(a.lower().startswith("sts:assumerolewithwebidentity") or a == "*" for a in t.actions)
    )


def github_trusts(identities: Iterable[Identity]) -> Iterator[GithubTrust]:
    for ident in identities:
        if ident.provider == "aws" and ident.kind == "aws-iam-role":
            for t in ident.trusts:
                if t.principal_type != "Federated" or f"oidc-provider/{GITHUB_ISSUER}" not in t.principal:
                    continue
                if not _assumes(t):
                    continue
                auds = _values(t.conditions, "aud")
                yield GithubTrust(
                    ident,
                    _values(t.conditions, "sub"),
                    tuple(p.value for p in auds) if auds is not None else None,
                    t.principal,
                    "aws-trust",
                )
        elif ident.provider == "azure":
            for fc in ident.attributes.get("federated_credentials") or ():
                if not isinstance(fc, Mapping) or GITHUB_ISSUER not in str(fc.get("issuer") or ""):
                    continue
                subject = str(fc.get("subject") or "")
                yield GithubTrust(
                    ident,
                    (Pattern(subject, False),) if subject else None,
                    ("api://AzureADTokenExchange",),
                    f"federated credential {fc.get('name') or subject}",
                    "azure-federated-credential",
                )


def all_trusts(inventory: Inventory) -> list[GithubTrust]:
    """The GitHub trusts of every provider: AWS and Azure from the identities, GCP from the pool
    providers' facts and the pool members bound on service accounts."""
    out = list(github_trusts(inventory.identities))
    for t in ci_oidc_gcp.trusts(inventory):
        default = f"https://iam.googleapis.com/{t.provider.name}"
        out.append(
            GithubTrust(
                t.identity,
                tuple(Pattern(v, like) for v, like in t.patterns),
                t.provider.audiences or (default, f"//iam.googleapis.com/{t.provider.name}"),
                f"provider {t.provider.name} for {t.member}",
                "gcp-workload-identity",
                t.undecided,
                t,
            )
        )
    return out


# --- breadth ----------------------------------------------------------------------------------------

# What a trust admits beyond one pinned branch or environment of one repository, and how bad that
# is before the identity's privilege is counted.
BASE = {
    "any-repository": "critical",
    "org-wide": "high",
    "any-ref": "medium",
    "any-branch": "medium",
    "any-environment": "medium",
    "pull-request": "medium",
    "any-tag": "low",
    "ref-pattern": "low",
    "no-aud": "low",
}
SAYS = {
    "any-repository": "from any repository of any GitHub user ({value})",
    "org-wide": "from every repository of {owner} ({value})",
    "any-ref": "from any branch, tag, pull request run and environment of {repo}",
    "any-branch": "from any branch of {repo} (anyone who can push a branch)",
    "any-environment": "from any deployment environment of {repo}, protected or not",
    "pull-request": "from pull request runs of {repo} (code not yet reviewed)",
    "any-tag": "from any tag of {repo}",
    "ref-pattern": "from refs matching {value}",
    "no-aud": "minted for any audience (no aud condition)",
}


def breadth(trust: GithubTrust) -> list[tuple[str, str]]:
    """(class, description) of each way the trust admits more than a pinned ref of one repository.

    A trust without a `sub` condition, or whose owner is a wildcard, admits any GitHub repository:
    that is aws-oidc-trust-without-sub's finding, so it is not repeated here."""
    out: list[tuple[str, str]] = []
    if trust.subs is None:
        return out
    for p in trust.subs:
        owner, repo, rest = p.owner, p.repo, p.rest
        if trust.kind == "gcp-workload-identity" and (owner is None or p.wild(owner) or not owner):
            # no other rule reports an open GCP provider: it is this rule's worst case
            out.append(("any-repository", SAYS["any-repository"].format(value=p.value)))
            continue
        if owner is None or repo is None or p.wild(owner) or not owner:
            continue  # another sub format, or any owner (the other rule's)
        name = f"{owner}/{repo}"
        if p.wild(repo):
            out.append(("org-wide", SAYS["org-wide"].format(owner=owner, value=p.value)))
            continue
        if rest is None:
            continue
        cls = _rest_class(p, rest)
        if cls:
            out.append((cls, SAYS[cls].format(repo=name, value=p.value)))
    if trust.auds is None and trust.kind == "aws-trust":
        out.append(("no-aud", SAYS["no-aud"]))
    seen: set[tuple[str, str]] = set()
    return [x for x in out if not (x in seen or seen.add(x))]  # type: ignore[func-returns-value]


def _rest_class(p: Pattern, rest: str) -> str | None:
    if rest == "pull_request":
        return "pull-request"
    if not p.wild(rest):
        return None
    if rest.startswith(("*", "?")) or rest in ("r*", "re*", "ref*", "ref:*", "ref:refs/*"):
        return "any-ref"
    if rest.startswith("environment:"):
        return "any-environment" if rest[len("environment:") :].strip("*?") == "" else "ref-pattern"
    if rest.startswith("ref:refs/heads/"):
        return "any-branch" if rest[len("ref:refs/heads/") :].strip("*?") == "" else "ref-pattern"
    if rest.startswith("ref:refs/tags/"):
        return "any-tag" if rest[len("ref:refs/tags/") :].strip("*?") == "" else "ref-pattern"
    return "ref-pattern"


# --- workflow ↔ trust ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Match:
    job: WorkflowJob
    trust: GithubTrust
    pattern: Pattern
    conditional: bool
    condition: str

    @property
    def via(self) -> str:
        op = "StringLike" if self.pattern.like else "StringEquals"
        if self.trust.kind == "azure-federated-credential":
            return f"{self.trust.where}: subject {self.pattern.value}"
        if self.trust.gcp is not None:
            cond = self.trust.gcp.provider.condition
            said = f"attribute condition {cond}" if cond else "no attribute condition"
            return (
                f"{self.trust.gcp.role} for {self.trust.gcp.member} on {self.trust.identity.id}; "
                f"provider {self.trust.gcp.provider.name}: {said}"
            )
        if self.trust.subs is None:
            return (
                f"trust of {self.trust.identity.name}: {GITHUB_ISSUER} with no sub condition (any repository)"
            )
        return f"trust of {self.trust.identity.name}: {op} {GITHUB_ISSUER}:sub {self.pattern.value}"


def _glob(pattern: Pattern, text: str) -> bool:
    if pattern.like:
        return fnmatch.fnmatchcase(text.lower(), pattern.value.lower())
    return text.lower() == pattern.value.lower()


def _overlap(pattern: str, like: bool, subject: str) -> bool:
    """Whether some run of the job (its subject, a glob) carries a claim the pattern admits."""
    p, s = pattern.lower(), subject.lower()
    if like and fnmatch.fnmatchcase(s, p):
        return True
    if fnmatch.fnmatchcase(p, s):
        return True
    return p == s


def _names_target(job: WorkflowJob, ident: Identity) -> bool | None:
    """Whether the job's target names this identity: True / False, None when it is an expression."""
    target = job.target.strip()
    if job.cloud == "aws":
        if target.startswith("arn:") and "${{" not in target:
            return target == ident.id or target == ident.attributes.get("arn", ident.id)
        m = re.search(r":role/(?:[\w+=,.@/-]*/)?([\w+=,.@-]+)\s*$", target)
        if m and "${{" not in m.group(1):
            return m.group(1) == ident.name
        if "${{" not in target and re.fullmatch(r"[\w+=,.@-]+", target):
            return target == ident.name  # the action accepts a bare role name
        return None
    if job.cloud == "azure":
        if "${{" in target:
            return None
        return target.lower() == str(ident.attributes.get("app_id") or "").lower()
    if job.cloud == "gcp":
        if "@" not in target:
            return False  # direct resource access: the job acts as the pool's principal, no account
        if "${{" in target:
            return None
        return target.lower() == ident.id.lower()
    return False


_ANY = Pattern("repo:*/*:*", True)


def _effective(trust: GithubTrust) -> Iterator[tuple[Pattern, Pattern]]:
    """(as written, as matched) for each admitted `sub`: no condition, or a wildcard that does not
    spell `repo:OWNER/REPO`, admits any repository."""
    if trust.subs is None:
        yield Pattern("(no sub condition)", True), _ANY
        return
    for p in trust.subs:
        if p.owner is not None and p.repo is not None and p.owner:
            yield p, p
        elif p.like and fnmatch.fnmatchcase("repo:o/r:ref:refs/heads/x", p.value.lower()):
            yield p, _ANY


def match(jobs: Iterable[WorkflowJob], trusts: Iterable[GithubTrust]) -> Iterator[Match]:
    """Every (job, trust) where the trust admits the job's repository, indexed by repository name
    (and by identity, for jobs that name their role: a checkout may be named unlike the repository)."""
    by_repo: dict[str, list[tuple[GithubTrust, Pattern, Pattern]]] = {}
    by_identity: dict[str, list[tuple[GithubTrust, Pattern, Pattern]]] = {}
    for t in trusts:
        for p, e in _effective(t):
            repo = e.repo or ""
            by_repo.setdefault("*" if e.wild(repo) else repo.lower(), []).append((t, p, e))
            by_identity.setdefault(t.identity.name.lower(), []).append((t, p, e))
            if t.kind == "gcp-workload-identity":
                by_identity.setdefault(t.identity.id.lower(), []).append((t, p, e))
            if t.identity.attributes.get("app_id"):
                by_identity.setdefault(str(t.identity.attributes["app_id"]).lower(), []).append((t, p, e))
    wild = by_repo.get("*", [])
    for job in jobs:
        cloud_kind = {
            "aws": "aws-trust",
            "azure": "azure-federated-credential",
            "gcp": "gcp-workload-identity",
        }.get(job.cloud)
        if cloud_kind is None:
            continue
        seen: set[tuple[str, str]] = set()
        named = by_identity.get(_target_key(job), [])
        candidates = [c for name in sorted(job.repo_names()) for c in by_repo.get(name, [])] + wild + named
        for t, p, e in candidates:
            if t.kind != cloud_kind or (t.identity.id, p.value) in seen:
                continue
            names = _names_target(job, t.identity)
            by_provider: bool | None = True
            if t.gcp is not None:
                by_provider = ci_oidc_gcp.names_provider(job.provider, t.gcp.provider)
                names = False if by_provider is False else (None if by_provider is None else names)
            if names is False:
                continue  # the job names another role (an expression may name any the trust admits)
            owner, repo = e.owner or "", e.repo or ""
            conditions: list[str] = []
            if not any(_glob(Pattern(repo, e.like), n) for n in job.repo_names()):
                if names is not True:
                    continue
                # The job names this very role: the checkout's name may not be the repository's.
                conditions.append(
                    f"the trust names repository {owner}/{repo}, the checkout is named {job.repository_name}"
                )
            if owner.startswith("(owner id "):
                conditions.append(f"the trust names the repository's owner by id {owner[10:-1]}")
            elif job.owner_repo:
                if not _glob(Pattern(owner, e.like), job.owner_repo.split("/", 1)[0]):
                    continue
            elif not (e.like and owner.strip("*?") == ""):
                conditions.append(
                    f"the repository's owner is not known from the checkout (the trust names {owner})"
                )
            rest = e.rest
            if rest is not None and not any(_overlap(rest, e.like, s) for s in job.subjects):
                runs = (
                    ", ".join(job.subjects) or "nothing (its if: is false for every run its triggers start)"
                )
                conditions.append(f"the trust admits {rest} while the job runs as {runs}")
            if not job.id_token:
                conditions.append("the job's permissions leave out id-token: write")
            if (
                t.kind in ("aws-trust", "gcp-workload-identity")
                and t.auds is not None
                and job.audience
                and "${{" not in job.audience
                and not any(fnmatch.fnmatchcase(job.audience, a) for a in t.auds)
            ):
                conditions.append(
                    f"the job asks for audience {job.audience}, the trust wants {', '.join(t.auds)}"
                )
            if by_provider is None and job.provider and "${{" not in job.provider:
                conditions.append(
                    f"the job names the provider by project id ({job.provider}), the export by number"
                )
            if t.undecided:
                conditions.append(
                    f"the trust's condition has parts nhiscan cannot decide: {'; '.join(t.undecided)}"
                )
            seen.add((t.identity.id, p.value))
            yield Match(job, t, p, bool(conditions), "; ".join(conditions))


def _target_key(job: WorkflowJob) -> str:
    """The role name (AWS) or client id (Azure) a job names literally, lower-cased ("" if none)."""
    target = job.target.strip()
    if "${{" in target.rsplit("/", 1)[-1]:
        return ""
    if job.cloud == "aws":
        return target.rsplit("/", 1)[-1].lower()
    return target.lower()
