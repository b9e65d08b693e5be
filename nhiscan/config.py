"""Scan configuration: what the CLI asked for plus `nhiscan.toml` / `[tool.nhiscan]` settings.

Settings file shape (all keys optional)::

    fail_on = "high"                              # critical | high | medium | low | none, as --fail-on
    disable = ["nhi-no-owner"]                   # rule ids switched off
    exclude = ["docs/**", "*.lock"]              # extra path globs the repository scan skips
    waivers = ".nhiscan-waivers.yaml"            # waivers file, relative to the settings file

    [severity]                                    # per-rule severity overrides
    aws-two-active-keys = "low"

    [params.aws-access-key-too-old]               # per-rule parameter overrides
    max_age_days = 60

    [classification]                              # identity classification overrides (globs on id or name)
    nonhuman = ["arn:aws:iam::*:user/build-*"]
    human = ["arn:aws:iam::111122223333:user/alice"]
    agent = ["*:role/bedrock-agent-*"]

In pyproject.toml the same keys sit under ``[tool.nhiscan]``.
"""

from __future__ import annotations

import fnmatch
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from nhiscan.errors import NhiscanError, content_free
from nhiscan.model import Severity

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

# The values of `fail_on` and of the CLI's --fail-on ("none": never exit 1 on findings).
FAIL_ON_CHOICES = ("critical", "high", "medium", "low", "none")

_KNOWN_KEYS = {"fail_on", "disable", "exclude", "severity", "params", "classification", "waivers"}


@dataclass(frozen=True)
class Settings:
    """Rule and classification settings read from a config file."""

    fail_on: str | None = None  # one of FAIL_ON_CHOICES; None when the file does not say
    disabled: frozenset[str] = frozenset()
    exclude: tuple[str, ...] = ()
    severity: Mapping[str, Severity] = field(default_factory=dict)
    params: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    nonhuman: tuple[str, ...] = ()
    human: tuple[str, ...] = ()
    agent: tuple[str, ...] = ()
    waivers: str | None = None
    path: str | None = None

    def classify_override(self, identity_id: str, name: str) -> str | None:
        """'human', 'nonhuman' or None, from the classification globs (human wins a tie)."""
        for label, patterns in (("human", self.human), ("nonhuman", self.nonhuman)):
            for pat in patterns:
                if fnmatch.fnmatchcase(identity_id, pat) or fnmatch.fnmatchcase(name, pat):
                    return label
        return None

    def is_agent_override(self, identity_id: str, name: str) -> bool:
        return any(fnmatch.fnmatchcase(identity_id, p) or fnmatch.fnmatchcase(name, p) for p in self.agent)


@dataclass(frozen=True)
class InputSpec:
    path: str
    scope: str | None = None

    @classmethod
    def parse(cls, value: str) -> InputSpec:
        """`[SCOPE=]FILE`. A value whose left part is an existing file is taken as a plain path."""
        if "=" in value and not Path(value).exists():
            scope, _, path = value.partition("=")
            if scope and path:
                return cls(path=path, scope=scope)
        return cls(path=value)


@dataclass(frozen=True)
class ScanConfig:
    as_of: datetime
    paths: tuple[str, ...] = ()
    inputs: tuple[InputSpec, ...] = ()
    aws: bool = False
    aws_profile: str | None = None
    aws_org: bool = False
    aws_role: str | None = None
    aws_last_accessed: bool = False
    gcp_projects: tuple[str, ...] = ()
    azure_subscriptions: tuple[str, ...] = ()
    k8s_context: str | None = None
    history: bool = False
    baseline: str | None = None
    waivers: str | None = None
    settings: Settings = field(default_factory=Settings)
    progress: bool = False


def _as_str_tuple(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise NhiscanError(f"{where}: expected a list of strings")


def settings_from_mapping(data: Mapping[str, Any], path: str) -> Settings:
    unknown = set(data) - _KNOWN_KEYS
    if unknown:
        raise NhiscanError(f"{path}: unknown setting(s): {', '.join(sorted(unknown))}")
    fail_on = data.get("fail_on")
    if fail_on is not None and (not isinstance(fail_on, str) or fail_on.lower() not in FAIL_ON_CHOICES):
        raise NhiscanError(f"{path}: fail_on: {fail_on!r} is not one of {', '.join(FAIL_ON_CHOICES)}")
    try:
        severity = {str(k): Severity.parse(str(v)) for k, v in (data.get("severity") or {}).items()}
    except ValueError as exc:
        raise NhiscanError(f"{path}: {exc}") from None
    params_raw = data.get("params") or {}
    if not isinstance(params_raw, Mapping) or not all(isinstance(v, Mapping) for v in params_raw.values()):
        raise NhiscanError(f"{path}: [params] must hold one table per rule id")
    classification = data.get("classification") or {}
    if not isinstance(classification, Mapping):
        raise NhiscanError(f"{path}: [classification] must be a table")
    waivers = data.get("waivers")
    if waivers is not None and not isinstance(waivers, str):
        raise NhiscanError(f"{path}: waivers must be a file path")
    return Settings(
        fail_on=fail_on.lower() if fail_on is not None else None,
        disabled=frozenset(_as_str_tuple(data.get("disable"), f"{path}: disable")),
        exclude=_as_str_tuple(data.get("exclude"), f"{path}: exclude"),
        severity=severity,
        params={str(k): dict(v) for k, v in params_raw.items()},
        nonhuman=_as_str_tuple(classification.get("nonhuman"), f"{path}: classification.nonhuman"),
        human=_as_str_tuple(classification.get("human"), f"{path}: classification.human"),
        agent=_as_str_tuple(classification.get("agent"), f"{path}: classification.agent"),
        waivers=str(Path(path).parent / waivers) if waivers else None,
        path=path,
    )


def load_settings(explicit: str | None, search_from: Path | None = None) -> Settings:
    """Read settings from --config, else ./nhiscan.toml, else [tool.nhiscan] of ./pyproject.toml."""
    if explicit:
        p = Path(explicit)
        if not p.is_file():
            raise NhiscanError(f"{explicit}: config file not found")
        data = _read_toml(p)
        if p.name == "pyproject.toml":
            data = data.get("tool", {}).get("nhiscan", {})
        return settings_from_mapping(data, str(p))
    base = search_from or Path.cwd()
    own = base / "nhiscan.toml"
    if own.is_file():
        return settings_from_mapping(_read_toml(own), str(own))
    pyproject = base / "pyproject.toml"
    if pyproject.is_file():
        section = _read_toml(pyproject).get("tool", {}).get("nhiscan")
        if section:
            return settings_from_mapping(section, f"{pyproject} [tool.nhiscan]")
    return Settings()


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            data: dict[str, Any] = tomllib.load(fh)
            return data
    except tomllib.TOMLDecodeError as exc:
        raise NhiscanError(f"{path}: invalid TOML: {content_free(str(exc))}") from None
    except OSError as exc:
        raise NhiscanError(f"{path}: cannot read: {exc.strerror}") from None
