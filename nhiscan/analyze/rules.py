"""The rule catalog: one YAML file per rule in rules/, validated on load.

A rule file::

    id: aws-access-key-too-old            # also the docs anchor and the file name
    title: Access key older than the rotation limit
    severity: high                         # critical | high | medium | low | info
    owasp_nhi: [NHI7:2025]
    provider: aws                          # aws | gcp | azure | kubernetes | repo | any
    check: aws_access_key_too_old          # name of the @check function (default: id with _ for -)
    risk_factor: stale-credential          # label the risk score lists when the rule fires
    params: {max_age_days: 90}             # defaults; nhiscan.toml [params.<id>] overrides
    param_spec:                            # what an override may be: one entry per param
      max_age_days: {type: integer, min: 1, max: 3650}
    why: ...
    remediation: ...
    references: [https://...]

Framework mappings (NIST CSF 2.0, CIS) live as data in rules/frameworks/*.yaml:
``{framework: "NIST CSF 2.0", mappings: {rule-id: ["PR.AA-01", ...]}, owasp: {NHI7:2025: [...]}}``.
The optional ``owasp`` section maps OWASP NHI ids; every rule inherits the controls of its OWASP ids,
followed by its own rule-specific ones.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from nhiscan.errors import NhiscanError
from nhiscan.model import OWASP_NHI, Severity
from nhiscan.sources.shape import describe

_REQUIRED = ("id", "title", "severity", "owasp_nhi", "why", "remediation")
_ALLOWED = set(_REQUIRED) | {"provider", "check", "params", "param_spec", "references", "risk_factor", "tags"}
PROVIDERS = {"aws", "gcp", "azure", "kubernetes", "repo", "any"}
PARAM_TYPES = ("integer", "string", "string-list", "boolean")
_SPEC_KEYS = {"type", "min", "max", "choices"}
# The catalog is nhiscan's own files: read with libyaml when PyYAML has it.
_CATALOG_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class ParamSpec:
    """What a rule parameter may hold, declared in the rule file's ``param_spec``.

    ``integer``: a whole number (not a boolean) from ``min`` to ``max``; ``string``: text, one of
    ``choices`` when given; ``boolean``: true or false (an opt-in rule's ``enabled``);
    ``string-list``: a list of non-empty strings with at least ``min`` and at most ``max`` items.
    """

    type: str
    min: int | None = None
    max: int | None = None
    choices: tuple[str, ...] = ()

    def describe(self) -> str:
        if self.type == "integer":
            if self.min is not None and self.max is not None:
                return f"an integer from {self.min} to {self.max}"
            if self.min is not None:
                return f"an integer of at least {self.min}"
            return "an integer" if self.max is None else f"an integer of at most {self.max}"
        if self.type == "string":
            return f"one of {', '.join(self.choices)}" if self.choices else "a string"
        if self.type == "boolean":
            return "true or false"
        size = f" with at least {self.min} item(s)" if self.min else ""
        return "a list of non-empty strings" + size

    def problem(self, value: Any) -> str | None:
        """None when ``value`` fits, else what is wrong (naming its type, never quoting text)."""
        if not _FITS[self.type](value):
            return f"expected {self.describe()}, got {_kind(value)}"
        if self.type == "boolean":
            return None
        if self.type == "string":
            fits = not self.choices or value in self.choices
            return None if fits else f"expected {self.describe()}, got another string"
        size = value if self.type == "integer" else len(value)
        if (self.min is not None and size < self.min) or (self.max is not None and size > self.max):
            got = str(value) if self.type == "integer" else f"{size} item(s)"
            return f"expected {self.describe()}, got {got}"
        return None


_FITS: dict[str, Callable[[Any], bool]] = {
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "string": lambda v: isinstance(v, str),
    "string-list": lambda v: isinstance(v, list) and all(isinstance(x, str) and x.strip() for x in v),
    "boolean": lambda v: isinstance(v, bool),
}


def _kind(value: Any) -> str:
    """What a config value is, in TOML's words where they differ from JSON's."""
    if isinstance(value, int) and not isinstance(value, bool):
        return "an integer"
    if isinstance(value, float):
        return "a decimal number"
    if isinstance(value, list):
        return "a list holding something other than non-empty strings"
    if isinstance(value, Mapping):
        return "a table"
    return describe(value)


def _param_spec(data: Any, params: Mapping[str, Any], source: str) -> dict[str, ParamSpec]:
    if not isinstance(data, Mapping):
        raise NhiscanError(f"{source}: param_spec must be a mapping")
    if set(data) != set(params):
        missing = sorted(set(map(str, params)) ^ set(map(str, data)))
        raise NhiscanError(
            f"{source}: params and param_spec must name the same parameters ({', '.join(missing)})"
        )
    out: dict[str, ParamSpec] = {}
    for name, raw in data.items():
        where = f"{source}: param_spec.{name}"
        if not isinstance(raw, Mapping) or raw.get("type") not in PARAM_TYPES or set(raw) - _SPEC_KEYS:
            raise NhiscanError(
                f"{where}: needs type ({', '.join(PARAM_TYPES)}) and only {', '.join(sorted(_SPEC_KEYS))}"
            )
        bounds = [raw.get(k) for k in ("min", "max")]
        if any(b is not None and (isinstance(b, bool) or not isinstance(b, int)) for b in bounds):
            raise NhiscanError(f"{where}: min and max must be integers")
        choices = raw.get("choices") or []
        if not isinstance(choices, list) or not all(isinstance(c, str) for c in choices):
            raise NhiscanError(f"{where}: choices must be a list of strings")
        spec = ParamSpec(str(raw["type"]), raw.get("min"), raw.get("max"), tuple(choices))
        wrong = spec.problem(params[name])
        if wrong:
            raise NhiscanError(f"{where}: the default does not fit: {wrong}")
        out[str(name)] = spec
    return out


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    severity: Severity
    owasp_nhi: tuple[str, ...]
    why: str
    remediation: str
    provider: str = "any"
    check: str = ""
    params: Mapping[str, Any] = field(default_factory=dict)
    param_spec: Mapping[str, ParamSpec] = field(default_factory=dict)
    references: tuple[str, ...] = ()
    risk_factor: str | None = None
    tags: tuple[str, ...] = ()
    frameworks: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


def rules_dir() -> Path:
    """rules/ shipped inside the wheel (nhiscan/_rules), else the source checkout's top-level rules/."""
    here = Path(__file__).resolve().parent.parent
    packaged = here / "_rules"
    if packaged.is_dir():
        return packaged
    return here.parent / "rules"


def parse_rule(data: Any, source: str) -> Rule:
    if not isinstance(data, Mapping):
        raise NhiscanError(f"{source}: a rule file must hold a mapping")
    missing = [k for k in _REQUIRED if k not in data]
    if missing:
        raise NhiscanError(f"{source}: missing key(s): {', '.join(missing)}")
    unknown = set(data) - _ALLOWED
    if unknown:
        raise NhiscanError(f"{source}: unknown key(s): {', '.join(sorted(unknown))}")
    rule_id = str(data["id"])
    try:
        severity = Severity.parse(str(data["severity"]))
    except ValueError as exc:
        raise NhiscanError(f"{source}: {exc}") from None
    owasp = tuple(str(x) for x in data["owasp_nhi"])
    bad = [x for x in owasp if x not in OWASP_NHI]
    if not owasp or bad:
        raise NhiscanError(f"{source}: owasp_nhi must list ids NHI1:2025..NHI10:2025 (got {list(owasp)})")
    provider = str(data.get("provider", "any"))
    if provider not in PROVIDERS:
        raise NhiscanError(f"{source}: unknown provider {provider!r}")
    params = data.get("params") or {}
    if not isinstance(params, Mapping):
        raise NhiscanError(f"{source}: params must be a mapping")
    param_spec = _param_spec(data.get("param_spec") or {}, params, source)
    return Rule(
        id=rule_id,
        title=str(data["title"]),
        severity=severity,
        owasp_nhi=owasp,
        why=str(data["why"]).strip(),
        remediation=str(data["remediation"]).strip(),
        provider=provider,
        check=str(data.get("check") or rule_id.replace("-", "_")),
        params=dict(params),
        param_spec=param_spec,
        references=tuple(str(r) for r in data.get("references") or ()),
        risk_factor=data.get("risk_factor"),
        tags=tuple(str(t) for t in data.get("tags") or ()),
    )


@functools.lru_cache(maxsize=4)
def load_catalog(directory: Path | None = None) -> tuple[Rule, ...]:
    """All rules, sorted by id; framework mappings attached. Raises NhiscanError on a bad file."""
    base = directory or rules_dir()
    if not base.is_dir():
        raise NhiscanError(f"rule catalog not found at {base}")
    # the bundled catalog's files already parsed, when rules_data.py was built from these very files
    parsed = None
    if directory is None:
        from nhiscan.analyze import rules_cache

        parsed = rules_cache.load(base)
    frameworks = _load_frameworks(base / "frameworks", parsed)
    rules: dict[str, Rule] = {}
    for path in sorted(base.glob("*.yaml")):
        data = parsed[path.name] if parsed is not None else _read_yaml(path)
        rule = parse_rule(data, str(path))
        if rule.id != path.stem:
            raise NhiscanError(f"{path}: rule id {rule.id!r} must match the file name")
        fw = {}
        for name, m in frameworks.items():
            ids = controls_for(m, rule.owasp_nhi, rule.id)
            if ids:
                fw[name] = ids
        rules[rule.id] = dataclasses.replace(rule, frameworks=fw)
    return tuple(rules[k] for k in sorted(rules))


OWASP_KEY = "owasp:"  # prefix under which a framework's OWASP NHI mappings sit in _load_frameworks


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=_CATALOG_LOADER)
    except yaml.YAMLError as exc:
        raise NhiscanError(f"{path}: invalid YAML: {exc}") from None


def _load_frameworks(
    directory: Path, parsed: Mapping[str, Any] | None = None
) -> dict[str, dict[str, list[str]]]:
    """framework name -> {rule id: controls, "owasp:NHIx:2025": controls}. ``parsed``: the
    catalog's files already parsed (rules_cache), by name relative to the catalog."""
    out: dict[str, dict[str, list[str]]] = {}
    if not directory.is_dir():
        return out
    for path in sorted(directory.glob("*.yaml")):
        key = f"{directory.name}/{path.name}"
        data = (parsed[key] if parsed is not None else _read_yaml(path)) or {}
        if not isinstance(data, Mapping):
            raise NhiscanError(f"{path}: a framework file must hold a mapping")
        name = str(data.get("framework") or path.stem)
        mappings = data.get("mappings") or {}
        table = {str(k): [str(x) for x in v] for k, v in mappings.items()}
        owasp = data.get("owasp") or {}
        bad = [str(k) for k in owasp if str(k) not in OWASP_NHI]
        if bad:
            raise NhiscanError(f"{path}: owasp: unknown OWASP NHI id(s): {', '.join(bad)}")
        table.update({OWASP_KEY + str(k): [str(x) for x in v] for k, v in owasp.items()})
        out[name] = table
    return out


def controls_for(
    table: Mapping[str, list[str]], owasp_ids: Iterable[str], rule_id: str = ""
) -> tuple[str, ...]:
    """Controls of one framework for a finding: those of its OWASP ids, then the rule's own (deduplicated)."""
    ids: list[str] = []
    for oid in owasp_ids:
        ids.extend(table.get(OWASP_KEY + oid, ()))
    if rule_id:
        ids.extend(table.get(rule_id, ()))
    return tuple(dict.fromkeys(ids))


@functools.lru_cache(maxsize=4)
def load_control_names(directory: Path | None = None) -> dict[str, dict[str, str]]:
    """framework name -> {control id: the outcome it names}, from each framework file's ``names``."""
    out: dict[str, dict[str, str]] = {}
    folder = (directory or rules_dir()) / "frameworks"
    if not folder.is_dir():
        return out
    for path in sorted(folder.glob("*.yaml")):
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise NhiscanError(f"{path}: invalid YAML: {exc}") from None
        if not isinstance(data, Mapping):
            raise NhiscanError(f"{path}: a framework file must hold a mapping")
        names = data.get("names") or {}
        if not isinstance(names, Mapping):
            raise NhiscanError(f"{path}: names: expected a mapping of control id to name")
        out[str(data.get("framework") or path.stem)] = {str(k): str(v) for k, v in names.items()}
    return out


@functools.lru_cache(maxsize=4)
def load_frameworks(directory: Path | None = None) -> dict[str, dict[str, list[str]]]:
    """The framework tables shipped with the catalog (see ``controls_for``)."""
    return _load_frameworks((directory or rules_dir()) / "frameworks")


def get_rule(rule_id: str) -> Rule:
    for rule in load_catalog():
        if rule.id == rule_id:
            return rule
    raise NhiscanError(f"unknown rule {rule_id!r} (see `nhiscan rules` for the catalog)")
