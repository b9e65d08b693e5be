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

    known_vendors_file = "vendors.yaml"           # known AWS vendor accounts, replacing the bundled list

    [environments]                                # scope (glob on account / project / subscription id or
    "111122223333" = "prod"                      # name, or resource path) -> prod | non-prod; wins over
    "projects/acme-dev*" = "non-prod"            # names, tags and labels

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
from nhiscan.shard import Shard

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

# The values of `fail_on` and of the CLI's --fail-on ("none": never exit 1 on findings).
FAIL_ON_CHOICES = ("critical", "high", "medium", "low", "none")

_KNOWN_KEYS = {
    "fail_on",
    "disable",
    "exclude",
    "severity",
    "params",
    "classification",
    "waivers",
    "environments",
    "known_vendors_file",
}
# [environments] values, and what each means ("prod" or "non-prod").
ENVIRONMENT_NAMES = {
    "prod": "prod",
    "production": "prod",
    "non-prod": "non-prod",
    "nonprod": "non-prod",
    "non-production": "non-prod",
}


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
    # scope glob -> "prod" / "non-prod" ([environments]), in file order
    environments: tuple[tuple[str, str], ...] = ()
    known_vendors_file: str | None = None

    def classify_override(self, identity_id: str, name: str) -> str | None:
        """'human', 'nonhuman' or None, from the classification globs (human wins a tie)."""
        for label, patterns in (("human", self.human), ("nonhuman", self.nonhuman)):
            for pat in patterns:
                if fnmatch.fnmatchcase(identity_id, pat) or fnmatch.fnmatchcase(name, pat):
                    return label
        return None

    def environment_of(self, *names: str) -> str | None:
        """ "prod" / "non-prod" from [environments]: the first pattern matching any of the names."""
        for pattern, env in self.environments:
            if any(n and fnmatch.fnmatchcase(n, pattern) for n in names):
                return env
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
    shard: Shard | None = None  # `inventory --shard I/N`: this job's part of the organization


def _as_str_tuple(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise NhiscanError(f"{where}: expected a list of strings")


def _table(data: Mapping[str, Any], key: str, path: str) -> Mapping[str, Any]:
    value = data.get(key)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise NhiscanError(f"{path}: {key}: expected a table ([{key}])")
    return value


def _unknown(keys: Any, known: set[str], where: str) -> None:
    unknown = sorted(set(map(str, keys)) - known)
    if unknown:
        raise NhiscanError(
            f"{where}: unknown setting(s): {', '.join(unknown)} (known: {', '.join(sorted(known))})"
        )


def settings_from_mapping(data: Mapping[str, Any], path: str) -> Settings:
    """Settings from a parsed config table; every key and value is checked, and anything unknown or
    of the wrong type is an error naming the file and the key (rule ids and rule parameters are
    checked against the catalog by ``nhiscan.analyze.engine.validate_settings``)."""
    if not isinstance(data, Mapping):
        raise NhiscanError(f"{path}: expected a table of settings")
    _unknown(data, _KNOWN_KEYS, path)
    fail_on = data.get("fail_on")
    if fail_on is not None and (not isinstance(fail_on, str) or fail_on.lower() not in FAIL_ON_CHOICES):
        shown = repr(fail_on) if isinstance(fail_on, (str, int, float)) else type(fail_on).__name__
        raise NhiscanError(f"{path}: fail_on: {shown} is not one of {', '.join(FAIL_ON_CHOICES)}")
    severity: dict[str, Severity] = {}
    for rule_id, level in _table(data, "severity", path).items():
        try:
            if not isinstance(level, str):
                raise ValueError("expected a severity name")
            severity[str(rule_id)] = Severity.parse(level)
        except ValueError as exc:
            raise NhiscanError(f"{path}: [severity] {rule_id}: {exc}") from None
    params_raw = _table(data, "params", path)
    for rule_id, table in params_raw.items():
        if not isinstance(table, Mapping):
            raise NhiscanError(f"{path}: [params] {rule_id}: expected a table ([params.{rule_id}])")
    classification = _table(data, "classification", path)
    _unknown(classification, {"nonhuman", "human", "agent"}, f"{path}: [classification]")
    waivers = data.get("waivers")
    if waivers is not None and (not isinstance(waivers, str) or not waivers.strip()):
        raise NhiscanError(f"{path}: waivers: expected a file path")
    environments: list[tuple[str, str]] = []
    for pattern, env in _table(data, "environments", path).items():
        named = ENVIRONMENT_NAMES.get(env.lower()) if isinstance(env, str) else None
        if named is None:
            raise NhiscanError(
                f"{path}: [environments] {pattern}: expected one of {', '.join(sorted(ENVIRONMENT_NAMES))}"
            )
        environments.append((str(pattern), named))
    vendors = data.get("known_vendors_file")
    if vendors is not None and (not isinstance(vendors, str) or not vendors.strip()):
        raise NhiscanError(f"{path}: known_vendors_file: expected a file path")
    return Settings(
        environments=tuple(environments),
        known_vendors_file=str(Path(path.split(" [tool.")[0]).parent / vendors) if vendors else None,
        fail_on=fail_on.lower() if fail_on is not None else None,
        disabled=frozenset(_as_str_tuple(data.get("disable"), f"{path}: disable")),
        exclude=_as_str_tuple(data.get("exclude"), f"{path}: exclude"),
        severity=severity,
        params={str(k): dict(v) for k, v in params_raw.items()},
        nonhuman=_as_str_tuple(classification.get("nonhuman"), f"{path}: [classification] nonhuman"),
        human=_as_str_tuple(classification.get("human"), f"{path}: [classification] human"),
        agent=_as_str_tuple(classification.get("agent"), f"{path}: [classification] agent"),
        waivers=str(Path(path).parent / waivers) if waivers else None,
        path=path,
    )


def _tool_section(data: Mapping[str, Any], path: Path) -> Any:
    """``[tool.nhiscan]`` of a pyproject.toml (None when absent)."""
    tool = data.get("tool")
    if tool is None:
        return None
    if not isinstance(tool, Mapping):
        raise NhiscanError(f"{path}: tool: expected a table ([tool])")
    return tool.get("nhiscan")


def load_settings(explicit: str | None, search_from: Path | None = None) -> Settings:
    """Read settings from --config, else ./nhiscan.toml, else [tool.nhiscan] of ./pyproject.toml."""
    if explicit:
        p = Path(explicit)
        if not p.is_file():
            raise NhiscanError(f"{explicit}: config file not found")
        data = _read_toml(p)
        if p.name == "pyproject.toml":
            return settings_from_mapping(_tool_section(data, p) or {}, f"{p} [tool.nhiscan]")
        return settings_from_mapping(data, str(p))
    base = search_from or Path.cwd()
    own = base / "nhiscan.toml"
    if own.is_file():
        return settings_from_mapping(_read_toml(own), str(own))
    pyproject = base / "pyproject.toml"
    if pyproject.is_file():
        section = _tool_section(_read_toml(pyproject), pyproject)
        if section is not None:
            return settings_from_mapping(section, f"{pyproject} [tool.nhiscan]")
    return Settings()


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            data: dict[str, Any] = tomllib.load(fh)
            return data
    except tomllib.TOMLDecodeError as exc:
        raise NhiscanError(f"{path}: invalid TOML: {content_free(str(exc))}") from None
    except UnicodeDecodeError as exc:
        raise NhiscanError(f"{path}: not a TOML file: not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise NhiscanError(f"{path}: cannot read: {exc.strerror}") from None
