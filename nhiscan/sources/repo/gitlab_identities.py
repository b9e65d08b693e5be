"""GitLab CI: which jobs of merge-request pipelines rely on stored secrets, and which jobs get an
OIDC token (`id_tokens`) they may not need.

* A job that runs in merge-request pipelines (its `rules:` name `merge_request_event` or a
  `CI_MERGE_REQUEST_` variable, `only: [merge_requests]`, or it has neither and the `workflow:`
  rules do) and references a secret-named CI/CD variable (`$DEPLOY_TOKEN`) can only read it when
  the variable is *not* protected: protected variables reach pipelines of protected branches and
  tags only. Such a variable is readable by every branch and merge request whose pipeline runs,
  including changes no one has reviewed yet.
* `id_tokens` under `default:` gives every job a signed OIDC token for the listed audiences; an
  audience with a wildcard lets the token be accepted by more relying parties than intended.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from yaml.nodes import MappingNode, Node, SequenceNode

from nhiscan.model import Observation
from nhiscan.sources.repo._common import obs, secret_name
from nhiscan.sources.repo._yaml import get, get_pair, line, pairs, scalar, walk_scalars

GITLAB = "GitLab CI"
_RESERVED = {
    "variables", "stages", "default", "include", "workflow", "image", "services", "cache",
    "before_script", "after_script", "pages",
}  # fmt: skip
_MR = re.compile(r"merge_request_event|\$CI_MERGE_REQUEST_", re.I)
_VAR_REF = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)")
# Predefined variables GitLab sets per job (short-lived or not secret): never a stored secret.
_PREDEFINED = re.compile(r"^(CI_|GITLAB_|FF_)")


def scan(path: str, docs: list[Node]) -> Iterator[Observation]:
    for doc in docs:
        if isinstance(doc, MappingNode):
            yield from _mr_secrets(path, doc)
            yield from _id_tokens(path, doc)


def _rules_mention_mr(node: Node | None) -> bool | None:
    """True/False when a `rules:` list decides about merge requests; None when there is none."""
    if not isinstance(node, SequenceNode):
        return None
    for rule in node.value:
        cond = scalar(get(rule, "if")) or ""
        if _MR.search(cond) and (scalar(get(rule, "when")) or "").strip() != "never":
            return True
    return False


def _only_mr(node: Node | None) -> bool | None:
    if node is None:
        return None
    refs = get(node, "refs") if isinstance(node, MappingNode) else node
    values = [str(s.value) for s in walk_scalars(refs)]
    return any(v.strip() == "merge_requests" for v in values)


def _runs_in_mr(job: Node, workflow_mr: bool) -> bool:
    own = _rules_mention_mr(get(job, "rules"))
    if own is not None:
        return own
    only = _only_mr(get(job, "only"))
    if only is not None:
        return only
    return workflow_mr


def _defined_here(doc: Node, job: Node) -> set[str]:
    names = {k for k, _, _ in pairs(get(doc, "variables"))}
    return names | {k for k, _, _ in pairs(get(job, "variables"))}


def _mr_secrets(path: str, doc: Node) -> Iterator[Observation]:
    workflow_mr = bool(_rules_mention_mr(get(get(doc, "workflow"), "rules")))
    for name, kn, job in pairs(doc):
        if name in _RESERVED or name.startswith(".") or not isinstance(job, MappingNode):
            continue
        if get(job, "script") is None and get(job, "trigger") is None:
            continue
        if not _runs_in_mr(job, workflow_mr):
            continue
        local = _defined_here(doc, job)
        used: set[str] = set()
        for key in ("script", "before_script", "after_script"):
            for s in walk_scalars(get(job, key)):
                for m in _VAR_REF.finditer(str(s.value)):
                    var = m.group(1)
                    if secret_name(var) and not _PREDEFINED.match(var) and var not in local:
                        used.add(var)
        if used:
            yield obs(
                "gitlab-mr-pipeline-secret-variable",
                path,
                line(kn),
                f"{GITLAB} job '{name}' runs in merge-request pipelines and uses {', '.join(sorted(used))}: "
                "to reach it there the variable cannot be protected, so every branch and merge request "
                "pipeline can read it",
                f"mr-secret:{name}",
                system=GITLAB,
                job=name,
                variables=sorted(used),
            )


def _id_tokens(path: str, doc: Node) -> Iterator[Observation]:
    scopes: list[tuple[str, Node | None]] = [("default", get(doc, "default"))]
    scopes += [(f"job {n}", j) for n, _, j in pairs(doc) if n not in _RESERVED and isinstance(j, MappingNode)]
    for where, node in scopes:
        pair = get_pair(node, "id_tokens")
        if pair is None:
            continue
        for token, tkn, spec in pairs(pair[1]):
            auds = [str(s.value) for s in walk_scalars(get(spec, "aud"))]
            wild = [a for a in auds if "*" in a]
            if where == "default" or wild:
                why = []
                if where == "default":
                    why.append("is given to every job (default:)")
                if wild:
                    why.append(f"has wildcard audience {', '.join(wild)}")
                yield obs(
                    "gitlab-id-token-broad",
                    path,
                    line(tkn),
                    f"{GITLAB} OIDC token '{token}' " + " and ".join(why),
                    f"idtoken:{where}:{token}",
                    system=GITLAB,
                    token=token,
                    scope=where,
                    audiences=auds,
                )
