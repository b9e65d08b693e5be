"""One read of a GitHub Actions workflow: triggers, permissions, jobs and steps, built once.

The checks in ci_github, gha_untrusted and gha_tokens all look at the same facts (what a job's
token may do, which secrets it references, what its steps use and run); building them once per
workflow keeps a scan to one pass over each node tree.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from nhiscan.sources.repo._yaml import get, get_pair, items, line, pairs, scalar, scalars_below, value_map

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
    if not words:
        return
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


def secret_names_in(text: str) -> list[str]:
    """Names of the secrets a text references, GITHUB_TOKEN left out (it is the job's own token)."""
    return list(_names_of(text))


def _names_of(text: str) -> tuple[str, ...]:
    """:func:`secret_names_in` as the shared tuple (memoised for short texts)."""
    if len(text) > _NAMES_TEXT_MAX:
        return _secret_names(text)
    found = _NAMES.get(text)
    if found is None:
        found = _secret_names(text)
        if len(_NAMES) >= _NAMES_MAX:
            _NAMES.clear()
        _NAMES[text] = found
    return found


# The checks look at the same scalars several times (a job's secrets, each env block of each step,
# run scripts): each distinct short text is searched once. Bounded in entries and in text size.
_NAMES: dict[str, tuple[str, ...]] = {}
_NAMES_MAX = 8192
_NAMES_TEXT_MAX = 4096


def _secret_names(text: str) -> tuple[str, ...]:
    if _SECRETS_WORD.search(text) is None:
        return ()
    names = [m.group(2) or m.group(3) for m in secret_refs(text)]
    return tuple(n for n in names if n.upper() != "GITHUB_TOKEN")


# Scopes of the GITHUB_TOKEN (`permissions:` keys).
WRITE_ALL = "*"


@dataclass(frozen=True)
class Permissions:
    """A `permissions:` block: ``None`` node means absent (the repository's default applies)."""

    declared: bool
    writes: frozenset[str]  # scopes granted write; WRITE_ALL for write-all
    key_line: int = 0
    id_token: bool = False

    @property
    def any_write(self) -> bool:
        return bool(self.writes - {"id-token"})


def read_permissions(pair: tuple[ScalarNode, Node] | None) -> Permissions:
    if pair is None:
        return Permissions(False, frozenset())
    kn, value = pair
    text = scalar(value)
    if text is not None:
        word = text.strip().lower()
        if word == "write-all":
            return Permissions(True, frozenset({WRITE_ALL}), line(kn), id_token=True)
        return Permissions(True, frozenset(), line(kn))  # read-all, "" and unknown words: no write
    writes = {k for k, _, v in pairs(value) if (scalar(v) or "").strip().lower() == "write"}
    return Permissions(True, frozenset(writes), line(kn), id_token="id-token" in writes)


@dataclass
class Step:
    index: int
    node: Node
    uses: str  # action name without @ref, lower-cased ("" for run steps)
    uses_raw: str
    label: str
    with_node: Node | None
    run: ScalarNode | None
    env: Node | None
    step_id: str | None

    def with_value(self, key: str) -> str | None:
        return scalar(get(self.with_node, key))


@dataclass
class Job:
    job_id: str
    key_node: ScalarNode
    node: Node
    permissions: Permissions
    steps: list[Step]
    env: Node | None
    uses: str | None  # a reusable workflow call
    secrets: list[str] = field(default_factory=list)  # secrets referenced anywhere in the job
    scalars: list[ScalarNode] = field(default_factory=list)  # every scalar value of the job


@dataclass
class Workflow:
    path: str
    doc: Node
    triggers: set[str]
    on_line: int
    permissions: Permissions
    env: Node | None
    env_secrets: list[str]
    jobs: list[Job]

    def effective(self, job: Job) -> Permissions:
        """The job's token scope: its own block, else the workflow's (else the default)."""
        return job.permissions if job.permissions.declared else self.permissions


def triggers_of(doc: Node) -> tuple[set[str], int]:
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


def secrets_below(node: Node | None) -> list[str]:
    return secrets_in(scalars_below(node))


def secrets_in(scalars: list[ScalarNode]) -> list[str]:
    found: set[str] = set()
    known = _NAMES.get
    for s in scalars:
        text = str(s.value)
        names = known(text)  # the memo first: most scalars of a workflow repeat
        if names is None:
            names = _names_of(text)
        if names:
            found.update(names)
    return sorted(found)


def build(path: str, doc: Node) -> Workflow | None:
    if not isinstance(doc, MappingNode) or get(doc, "jobs") is None:
        return None
    triggers, on_line = triggers_of(doc)
    wf_env = get(doc, "env")
    jobs: list[Job] = []
    for job_id, kn, node in pairs(get(doc, "jobs")):
        steps: list[Step] = []
        for i, s in enumerate(items(get(node, "steps"))):
            keys = value_map(s)  # one pass over the step's mapping
            raw = (scalar(keys.get("uses")) or "").strip()
            run = keys.get("run")
            step_id = scalar(keys.get("id"))
            steps.append(
                Step(
                    index=i,
                    node=s,
                    uses=raw.split("@", 1)[0].strip().lower(),
                    uses_raw=raw,
                    label=step_id or scalar(keys.get("name")) or scalar(keys.get("uses")) or f"steps[{i}]",
                    with_node=keys.get("with"),
                    run=run if isinstance(run, ScalarNode) else None,
                    env=keys.get("env"),
                    step_id=step_id,
                )
            )
        scalars = scalars_below(node)
        jobs.append(
            Job(
                job_id=job_id,
                key_node=kn,
                node=node,
                permissions=read_permissions(get_pair(node, "permissions")),
                steps=steps,
                env=get(node, "env"),
                uses=scalar(get(node, "uses")),
                secrets=secrets_in(scalars),
                scalars=scalars,
            )
        )
    return Workflow(
        path=path,
        doc=doc,
        triggers=triggers,
        on_line=on_line,
        permissions=read_permissions(get_pair(doc, "permissions")),
        env=wf_env,
        env_secrets=secrets_below(wf_env),
        jobs=jobs,
    )
