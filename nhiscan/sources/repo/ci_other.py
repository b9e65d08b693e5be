"""GitLab CI, Azure Pipelines, CircleCI, Bitbucket Pipelines and Jenkinsfile checks."""

from __future__ import annotations

import re
from collections.abc import Iterator

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from nhiscan.model import Observation
from nhiscan.sources.repo import ci_pipelines, gitlab_identities, gitlab_jobs
from nhiscan.sources.repo._common import literal_secret, obs, secret_attrs, secret_name
from nhiscan.sources.repo._yaml import get, get_pair, line, pairs, scalar

# `export NAME=value` / `NAME=value cmd` inside scripts, and `docker login -p value`.
_ASSIGN = re.compile(
    r"(?:^|[\s;'\"(])(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(\"([^\"]*)\"|'([^']*)'|([^\s'\";|&)]+))"
)
# `... login ... -p VALUE`: the first `login`, then the first password flag after it (the regex
# r"\blogin\b.*?\s(?:-p|--password)..." finds the same, but retries `.*?` from every `login`).
_LOGIN = re.compile(r"\blogin\b")
_PASSWORD_FLAG = re.compile(r"\s(?:-p|--password)[=\s]+(\"[^\"]+\"|'[^']+'|[^\s'\"]+)")

GITLAB = "GitLab CI"
AZURE = "Azure Pipelines"
CIRCLE = "CircleCI"
BITBUCKET = "Bitbucket Pipelines"
JENKINS = "Jenkins"


def _script_literals(path: str, system: str, where: str, node: ScalarNode) -> Iterator[Observation]:
    first = line(node) + (1 if node.style in ("|", ">") else 0)
    for i, text in enumerate(str(node.value).splitlines()):
        yield from _line_literals(path, system, where, first + i, text)


def _line_literals(path: str, system: str, where: str, lineno: int, text: str) -> Iterator[Observation]:
    for m in _ASSIGN.finditer(text):
        name = m.group(1)
        value = next(g for g in (m.group(3), m.group(4), m.group(5)) if g is not None)
        if secret_name(name) and literal_secret(value):
            yield obs(
                "ci-literal-credential",
                path,
                lineno,
                f"{system}: {where} sets '{name}' to a literal credential in a script",
                f"{where}:{name}",
                system=system,
                variable=name,
                **secret_attrs(value),
            )
    first = _LOGIN.search(text)
    login = _PASSWORD_FLAG.search(text, first.end()) if first else None
    if login:
        value = login.group(1).strip("'\"")
        if literal_secret(value):
            yield obs(
                "ci-literal-credential",
                path,
                lineno,
                f"{system}: {where} passes a literal password to a login command",
                f"{where}:login",
                system=system,
                variable="login",
                **secret_attrs(value),
            )


def _variables(
    path: str, system: str, where: str, node: Node | None, rule: str = "ci-literal-credential"
) -> Iterator[Observation]:
    """Name/value variables as a mapping, GitLab's {value: ...} form, or Azure's [{name, value}] list."""
    entries: list[tuple[str, ScalarNode, Node | None]] = []
    if isinstance(node, MappingNode):
        for name, kn, raw in pairs(node):
            entries.append((name, kn, get(raw, "value") if isinstance(raw, MappingNode) else raw))
    elif isinstance(node, SequenceNode):
        for item in node.value:
            name_pair = get_pair(item, "name")
            if name_pair is not None and scalar(name_pair[1]):
                entries.append((str(scalar(name_pair[1])), name_pair[0], get(item, "value")))
    for name, kn, val in entries:
        value = scalar(val)
        if value is None or not (secret_name(name) and literal_secret(value)):
            continue
        msg = f"{system}: {where} variable '{name}' holds a literal credential committed with the pipeline"
        yield obs(
            rule, path, line(kn), msg, f"{where}:{name}", system=system, variable=name, **secret_attrs(value)
        )


def _scripts(path: str, system: str, where: str, node: Node | None) -> Iterator[Observation]:
    if isinstance(node, ScalarNode):
        yield from _script_literals(path, system, where, node)
    elif isinstance(node, SequenceNode):
        for child in node.value:
            yield from _scripts(path, system, where, child)


# --- GitLab ---------------------------------------------------------------------------------------

_GITLAB_RESERVED = {
    "variables",
    "stages",
    "default",
    "include",
    "workflow",
    "image",
    "services",
    "cache",
    "before_script",
    "after_script",
}


def scan_gitlab(path: str, docs: list[Node]) -> list[Observation]:
    out: list[Observation] = []
    for doc in docs:
        if not isinstance(doc, MappingNode):
            continue
        out.extend(
            _variables(path, GITLAB, "global", get(doc, "variables"), "gitlab-literal-secret-variable")
        )
        for name, _, job in pairs(doc):
            if name == "variables" or not isinstance(job, MappingNode):
                continue
            where = "default" if name == "default" else f"job {name}"
            out.extend(
                _variables(path, GITLAB, where, get(job, "variables"), "gitlab-literal-secret-variable")
            )
            for key in ("script", "before_script", "after_script"):
                out.extend(_scripts(path, GITLAB, where, get(job, key)))
        for key in ("before_script", "after_script"):
            out.extend(_scripts(path, GITLAB, "global", get(doc, key)))
    out.extend(gitlab_identities.scan(path, docs))
    out.extend(gitlab_jobs.scan(path, docs))
    return out


# --- Azure Pipelines, CircleCI, Bitbucket: walk every mapping ---------------------------------------

_VAR_KEYS = {"variables", "environment", "env"}
_SCRIPT_KEYS = {
    "script",
    "bash",
    "pwsh",
    "powershell",
    "command",
    "run",
    "inline",
    "inlineScript",
    "after-script",
}


def _walk_generic(path: str, system: str, node: Node, where: str, depth: int = 0) -> Iterator[Observation]:
    if depth > 40:
        return
    if isinstance(node, MappingNode):
        for key, _, v in pairs(node):
            if key in _VAR_KEYS and isinstance(v, (MappingNode, SequenceNode)):
                yield from _variables(path, system, where.rstrip("/") or "pipeline", v)
                continue
            if key in _SCRIPT_KEYS:
                yield from _scripts(path, system, f"{where}{key}", v)
                if not isinstance(v, MappingNode):
                    continue
            child_where = (
                where if key in ("steps", "jobs", "stages", "pipelines", "definitions") else f"{where}{key}/"
            )
            yield from _walk_generic(path, system, v, child_where, depth + 1)
    elif isinstance(node, SequenceNode):
        for child in node.value:
            yield from _walk_generic(path, system, child, where, depth + 1)


def scan_generic(system: str, path: str, docs: list[Node]) -> list[Observation]:
    out: list[Observation] = []
    for doc in docs:
        out.extend(_walk_generic(path, system, doc, ""))
    out.extend(ci_pipelines.scan(system, path, docs))
    return out


# --- Jenkinsfile (Groovy: lines, not a parser) -------------------------------------------------------

_GROOVY_ASSIGN = re.compile(
    r"^\s*(?:def\s+|env\.)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(['\"])((?:(?!\2).)*)\2\s*$"
)


def scan_jenkinsfile(path: str, text: str) -> list[Observation]:
    out: list[Observation] = []
    for i, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if stripped.startswith(("//", "*", "/*")):
            continue
        m = _GROOVY_ASSIGN.match(raw)
        if m:
            name, value = m.group(1), m.group(3)
            if secret_name(name) and literal_secret(value):
                out.append(
                    obs(
                        "ci-literal-credential",
                        path,
                        i,
                        f"{JENKINS}: '{name}' is assigned a literal credential (bind it with credentials('id') "
                        "or withCredentials instead)",
                        f"assign:{name}",
                        system=JENKINS,
                        variable=name,
                        **secret_attrs(value),
                    )
                )
            continue
        out.extend(_line_literals(path, JENKINS, "pipeline", i, raw))
    return out
