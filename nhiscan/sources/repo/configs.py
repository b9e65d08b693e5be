"""CI pipeline and AI-agent configuration checks (interface used by the repository walker).

``is_config_file(rel_path)`` tells the walker which files to hand over; ``scan_config_file(rel_path,
text)`` returns the Observations found in one such file (each tagged with the rule id that reports
it). Secrets inside these files are found by the secret scanner like in any other file; this module
reports what is wrong with the configuration itself.

A file that cannot be parsed yields no observations by default, so a walker that knows nothing
of parse errors can never crash on one. A walker that wants to report them passes ``strict=True``
and turns :class:`ConfigParseError` (a ValueError with ``path`` and ``detail``) into a SourceError
for that file.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable

from nhiscan.model import Observation
from nhiscan.sources.repo import agents, ci_github, ci_other
from nhiscan.sources.repo._yaml import ConfigParseError

__all__ = ["ConfigParseError", "config_kind", "is_config_file", "scan_config_file"]

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


_SCANNERS: dict[str, Callable[[str, str], list[Observation]]] = {
    "github": ci_github.scan,
    "gitlab": ci_other.scan_gitlab,
    "azure": lambda p, t: ci_other.scan_generic(ci_other.AZURE, p, t),
    "circleci": lambda p, t: ci_other.scan_generic(ci_other.CIRCLE, p, t),
    "bitbucket": lambda p, t: ci_other.scan_generic(ci_other.BITBUCKET, p, t),
    "jenkins": ci_other.scan_jenkinsfile,
    "agent": agents.scan,
}


def scan_config_file(rel_path: str, text: str, *, strict: bool = False) -> list[Observation]:
    """Observations for one file (empty for files that configure nothing nhiscan knows).

    With ``strict=True`` a file that is not valid YAML/JSON raises ConfigParseError; otherwise it
    yields no observations.
    """
    try:
        return _scan(rel_path, text)
    except ConfigParseError:
        if strict:
            raise
        return []


def _scan(rel_path: str, text: str) -> list[Observation]:
    kind = config_kind(rel_path)
    if kind is None:
        return []
    path = rel_path.replace("\\", "/")
    # One observation per rule and place: a YAML anchor merged into several jobs is one problem.
    seen: set[tuple[str, int | None, str]] = set()
    out: list[Observation] = []
    for o in _SCANNERS[kind](path, text.lstrip("\ufeff")):
        ident = (
            o.rule_id,
            o.location.line,
            str(o.attributes.get("secret_hash") or o.attributes.get("key", "")),
        )
        if ident not in seen:
            seen.add(ident)
            out.append(o)
    return out
