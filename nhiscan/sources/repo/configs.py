"""CI pipeline and AI-agent configuration checks (interface used by the repository walker).

``is_config_file(rel_path)`` tells the walker which files to hand over; ``scan_config_file(rel_path,
text)`` returns the Observations found in one such file (each tagged with the rule id that reports
it). Secrets inside these files are found by the secret scanner like in any other file; this module
reports what is wrong with the configuration itself.

A file that cannot be parsed yields no observations by default, so a walker that knows nothing
of parse errors can never crash on one. A walker that wants to report them calls ``scan_config``
(or passes ``strict=True``) and turns :class:`ConfigParseError` (a ValueError with ``path`` and
``detail``) into a SourceError for that file; ``scan_config`` also returns the problems that did
not stop the analysis (a key written twice), to be reported the same way.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable
from dataclasses import dataclass, field

from yaml.nodes import Node

from nhiscan.model import Observation
from nhiscan.safeyaml import duplicate_message
from nhiscan.sources.repo import agents, ci_github, ci_other, inline_ignores
from nhiscan.sources.repo._yaml import ConfigParseError, compose_documents

__all__ = [
    "ConfigParseError",
    "ConfigScan",
    "config_kind",
    "is_config_file",
    "scan_config",
    "scan_config_file",
]

_YAML = (".yml", ".yaml")
_MCP_NAMES = {"mcp.json", "mcp_config.json", "cline_mcp_settings.json", "claude_desktop_config.json"}


def config_kind(rel_path: str) -> str | None:
    """Which system a repository-relative path configures, if any."""
    path = posixpath.normpath(rel_path.replace("\\", "/"))
    base = posixpath.basename(path)
    lower = base.lower()
    parent = posixpath.dirname(path)
    if lower.endswith(_YAML):
        if parent == ".github/workflows" or parent.endswith("/.github/workflows"):
            return "github"
        if lower in (".gitlab-ci.yml", ".gitlab-ci.yaml") or lower.endswith(".gitlab-ci.yml"):
            return "gitlab"
        if "/.gitlab/" in f"/{parent}/" and "ci" in path.lower():
            return "gitlab"
        if lower.startswith("azure-pipelines") or "/.azure-pipelines/" in f"/{parent}/":
            return "azure"
        if lower in ("config.yml", "config.yaml") and (
            parent == ".circleci" or parent.endswith("/.circleci")
        ):
            return "circleci"
        if lower in ("bitbucket-pipelines.yml", "bitbucket-pipelines.yaml"):
            return "bitbucket"
    if base == "Jenkinsfile" or lower.endswith(".jenkinsfile") or lower.startswith("jenkinsfile."):
        return "jenkins"
    if lower == ".mcp.json" or lower in _MCP_NAMES or lower == ".claude.json":
        return "agent"
    if lower in ("settings.json", "settings.local.json") and posixpath.basename(parent) in (
        ".claude",
        ".gemini",
    ):
        return "agent"
    return None


def is_config_file(rel_path: str) -> bool:
    return config_kind(rel_path) is not None


_YAML_SCANNERS: dict[str, Callable[[str, list[Node]], list[Observation]]] = {
    "github": ci_github.scan,
    "gitlab": ci_other.scan_gitlab,
    "azure": lambda p, d: ci_other.scan_generic(ci_other.AZURE, p, d),
    "circleci": lambda p, d: ci_other.scan_generic(ci_other.CIRCLE, p, d),
    "bitbucket": lambda p, d: ci_other.scan_generic(ci_other.BITBUCKET, p, d),
    "agent": agents.scan,
}

# What each system does with a key written twice in one mapping (all analysed with the last value,
# which is what the systems that accept such files use). GitHub refuses the whole workflow ("'KEY'
# is already defined", checked on its runner's messages); GitLab (Ruby's Psych) and the JSON
# readers of agent clients keep the last value; for the others nhiscan assumes the same.
_DUPLICATE_NOTE = {
    "github": "GitHub Actions refuses to run a workflow with a duplicate key; analysed with the last value",
    "gitlab": "GitLab CI silently uses the last value, which is what was analysed",
    "agent": "JSON readers silently use the last value, which is what was analysed",
}
_DUPLICATE_NOTE_DEFAULT = (
    "YAML readers silently use the last value (or refuse the file); analysed with the last value"
)


def _known_rules() -> set[str]:
    from nhiscan.analyze.rules import load_catalog  # cached; read only when a file has an ignore

    return {r.id for r in load_catalog()}


@dataclass(frozen=True)
class ConfigScan:
    """What one configuration file says: its observations, and problems that did not stop the read."""

    observations: list[Observation] = field(default_factory=list)
    problems: list[ConfigParseError] = field(default_factory=list)


def scan_config_file(rel_path: str, text: str, *, strict: bool = False) -> list[Observation]:
    """Observations for one file (empty for files that configure nothing nhiscan knows).

    With ``strict=True`` a file that is not valid YAML/JSON (or that nhiscan refuses to expand)
    raises ConfigParseError; otherwise it yields no observations.
    """
    try:
        return scan_config(rel_path, text).observations
    except ConfigParseError:
        if strict:
            raise
        return []


def scan_config(rel_path: str, text: str) -> ConfigScan:
    """Observations and non-fatal problems (duplicate keys) of one file; ConfigParseError when the
    file cannot be read at all."""
    kind = config_kind(rel_path)
    if kind is None:
        return ConfigScan()
    path = rel_path.replace("\\", "/")
    text = text.lstrip("\ufeff")
    problems: list[ConfigParseError] = []
    if kind == "jenkins":
        found = ci_other.scan_jenkinsfile(path, text)
    else:
        docs, duplicates = compose_documents(path, agents.strip_comments(text) if kind == "agent" else text)
        if duplicates:
            note = _DUPLICATE_NOTE.get(kind, _DUPLICATE_NOTE_DEFAULT)
            problems.append(ConfigParseError(path, f"{duplicate_message(duplicates, 'mapping')}; {note}"))
        found = _YAML_SCANNERS[kind](path, docs)
    if kind != "agent":  # JSON has no comments
        ignores = inline_ignores.find(text)
        if ignores:
            known = _known_rules()
            problems.extend(ConfigParseError(path, p) for p in inline_ignores.problems(ignores, known))
            found = inline_ignores.apply(list(found), ignores, known)
    # One observation per rule and place: a YAML anchor merged into several jobs is one problem.
    seen: set[tuple[str, int | None, str]] = set()
    out: list[Observation] = []
    for o in found:
        ident = (
            o.rule_id,
            o.location.line,
            str(o.attributes.get("secret_hash") or o.attributes.get("key", "")),
        )
        if ident not in seen:
            seen.add(ident)
            out.append(o)
    return ConfigScan(out, problems)
