"""Which environment (prod / non-prod) an identity, a file location or a workload belongs to.

Environments are read from names people already use: an ``env``/``environment``/``stage`` tag,
the account alias / project / subscription / cluster name (the identity's scope and attributes),
and for files the repository name and path segments (``config/prod/``, ``settings_staging.py``).
Names are split into tokens on anything that is not a letter or digit, after joining the compound
markers ``non-prod`` / ``pre-prod`` so that they never read as ``prod``. Markers are rule params.
The ``[environments]`` table of the settings (scope glob -> prod / non-prod) wins over names.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import PurePath

from nhiscan.config import Settings
from nhiscan.model import Identity, Location

PROD = "prod"
NONPROD = "non-prod"

DEFAULT_PROD = ("prod", "production", "prd", "live")
DEFAULT_NONPROD = (
    "dev",
    "development",
    "staging",
    "stage",
    "stg",
    "test",
    "testing",
    "qa",
    "uat",
    "sandbox",
    "nonprod",
    "preprod",
    "demo",
    "sbx",
)
ENV_TAGS = ("env", "environment", "stage", "tier")
ENV_ATTRIBUTES = (
    "account_alias",
    "account_name",
    "project_name",
    "subscription_name",
    "cluster",
    "namespace",
)

_COMPOUND = re.compile(r"(non|pre)[-_ .]?(prod|production)", re.IGNORECASE)
_SPLIT = re.compile(r"[^a-z0-9]+")


def tokens(text: str) -> list[str]:
    joined = _COMPOUND.sub(lambda m: f"{m.group(1)}{m.group(2)}", text.lower())
    return [t for t in _SPLIT.split(joined) if t]


class EnvClassifier:
    def __init__(
        self,
        prod: Iterable[str] = DEFAULT_PROD,
        nonprod: Iterable[str] = DEFAULT_NONPROD,
        settings: Settings | None = None,
    ) -> None:
        self.prod = {p.lower() for p in prod}
        self.nonprod = {n.lower() for n in nonprod}
        self.settings = settings or Settings()

    def of_scope(self, scope: str, aliases: Mapping[str, str] | None = None) -> tuple[str, str] | None:
        """The environment of an account / project / subscription / resource path: [environments]
        first (on the scope, its name, and for a resource path its project or subscription), then
        the scope's own name and alias."""
        names = [scope, *_scope_parts(scope)]
        if aliases:
            names += [aliases[n] for n in list(names) if n in aliases]
        configured = self.settings.environment_of(*names)
        if configured:
            return configured, f"[environments] {scope}"
        for name in names:
            env = self.of_text(name) if name else None
            if env:
                return env, f"scope {name}"
        return None

    def of_text(self, text: str) -> str | None:
        """PROD, NONPROD, or None when the text names neither (or both)."""
        toks = set(tokens(text))
        is_prod = bool(toks & self.prod)
        is_non = bool(toks & self.nonprod)
        if is_prod == is_non:
            return None
        return PROD if is_prod else NONPROD

    def of_identity(
        self, ident: Identity, aliases: Mapping[str, str] | None = None
    ) -> tuple[str, str] | None:
        """(environment, reason) from [environments], then tags, then scope name/alias, then naming
        attributes."""
        configured = self.settings.environment_of(ident.id, ident.scope, (aliases or {}).get(ident.scope, ""))
        if configured:
            return configured, f"[environments] {ident.scope or ident.id}"
        for key, value in ident.tags.items():
            if key.lower() in ENV_TAGS:
                env = self.of_text(value)
                if env:
                    return env, f"tag {key}={value}"
        scope_env = self.of_scope(ident.scope, aliases) if ident.scope else None
        if scope_env:
            return scope_env
        for attr in ENV_ATTRIBUTES:
            named = ident.attributes.get(attr)
            if isinstance(named, str):
                env = self.of_text(named)
                if env:
                    return env, f"{attr} {named}"
        return None

    def of_location(self, loc: Location) -> tuple[str, str] | None:
        # The file path first (config/prod/...), then the repository name (infra-staging).
        env = self.of_text(loc.path)
        if env:
            return env, f"path {loc.path}"
        # Only the repository's own name: the directories it was checked out under (a CI
        # workspace, ~/tests/, /tmp/staging-checkouts/) say nothing about where its secrets run.
        name = PurePath(loc.repository).name if loc.repository else ""
        if name not in ("", ".", ".."):
            env = self.of_text(name)
            if env:
                return env, f"repository {loc.repository}"
        return None


def scope_aliases(identities: Iterable[Identity]) -> dict[str, str]:
    """Scope id -> a human name (account alias, project name) when any identity of it records one."""
    out: dict[str, str] = {}
    for ident in identities:
        for key in ("account_alias", "account_name", "project_name", "subscription_name"):
            value = ident.attributes.get(key)
            if isinstance(value, str) and value and ident.scope:
                out.setdefault(ident.scope, value)
    return out


_SCOPE_PART = re.compile(
    r"^(?:projects|folders|organizations)/([^/]+)|^/subscriptions/([^/]+)", re.IGNORECASE
)


def _scope_parts(scope: str) -> list[str]:
    """`projects/acme-dev/...` -> [acme-dev]; `/subscriptions/ID/resourceGroups/rg-x` -> [ID, rg-x];
    an ARN -> its account id."""
    out: list[str] = []
    m = _SCOPE_PART.match(scope)
    if m:
        out.append(m.group(1) or m.group(2))
        rg = re.search(r"/resourceGroups/([^/]+)", scope, re.IGNORECASE)
        if rg:
            out.append(rg.group(1))
    elif scope.startswith("arn:"):
        parts = scope.split(":")
        if len(parts) > 4 and parts[4]:
            out.append(parts[4])
    return out
