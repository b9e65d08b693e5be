"""Shared judgement for config checks: secret-looking names and values, known token shapes."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from nhiscan import secret_ids
from nhiscan.model import Location, Observation

# Variable names that conventionally hold a credential.
_SECRET_NAME = re.compile(
    r"(TOKEN|SECRET|PASSW(OR)?D|PASSPHRASE|PWD|API_?KEY|ACCESS_?KEY|PRIVATE_?KEY|CREDENTIALS?|AUTH|_KEY$|^KEY$)",
    re.IGNORECASE,
)
# ...unless the name says it holds something else (a path, an id, a name, a switch).
_NOT_SECRET_NAME = re.compile(
    r"(_(PATH|FILE|DIR|URL|URI|ID|NAME|USER(NAME)?|ENDPOINT|REGION|HOST|TYPE|ENABLED|LENGTH|TTL|VERSION|"
    r"FORMAT|HEADER|EXPIRY|EXPIRES|SCOPES?|ENV|MODE|DOMAIN)$|^CACHE_KEY$|KEY_ID$|_KEYRING|AUTHOR|PUBLIC|"
    r"PUBLISHABLE|SITE_?KEY)",
    re.IGNORECASE,
)
_REFERENCE = re.compile(r"\$\{\{|\$\{|\$\(|\$[A-Za-z_]|%[A-Za-z_]+%|\{env:|\{\{")
_PLACEHOLDER = re.compile(
    r"^(<.*>|\[.*\]|x+|\*+|\.+|-+|changeme|change[_-]?me|placeholder|example|dummy|fake|test|testing|"
    r"secret|password|token|none|null|nil|true|false|yes|no|on|off|todo|tbd|redacted|replace[_-]?me|"
    r"your[_-].*|my[_-].*|.*[_-]here|insert[_-].*|set[_-]me|<redacted>|\*\*\*\*+.*)$",
    re.IGNORECASE,
)


def secret_name(name: str) -> bool:
    return bool(_SECRET_NAME.search(name)) and not _NOT_SECRET_NAME.search(name)


def is_reference(value: str) -> bool:
    return bool(_REFERENCE.search(value))


def literal_secret(value: str) -> bool:
    """A literal that plausibly is a credential (not a reference, placeholder, path, URL or number)."""
    v = value.strip()
    if len(v) < 8 or is_reference(v) or _PLACEHOLDER.match(v):
        return False
    if v.startswith(("/", "./", "~/", "http://", "https://")) and "@" not in v:
        return False
    if re.fullmatch(r"[\d.:_-]+", v):
        return False
    if " " in v and not classify_token(v):
        return False  # prose, commands, descriptions
    return not re.fullmatch(r"[a-z]+([_-][a-z]+)*", v)  # a plain word like "production"


@dataclass(frozen=True)
class TokenType:
    name: str
    provider: str
    broad: bool
    note: str


# (prefix regex, type). Broad = personal, account-wide or long-lived user credential.
_TOKENS: tuple[tuple[re.Pattern[str], TokenType], ...] = tuple(
    (re.compile(p), t)
    for p, t in (
        (
            r"ghp_[A-Za-z0-9]{36}",
            TokenType(
                "github-classic-pat",
                "github",
                True,
                "classic personal access token (every repository the user can reach)",
            ),
        ),
        (
            r"gho_[A-Za-z0-9]{36}",
            TokenType("github-oauth-token", "github", True, "OAuth user token carrying the user's scopes"),
        ),
        (
            r"github_pat_[A-Za-z0-9_]{60,}",
            TokenType("github-fine-grained-pat", "github", False, "fine-grained personal access token"),
        ),
        (
            r"ghu_[A-Za-z0-9]{36}",
            TokenType("github-app-user-token", "github", False, "GitHub App user token"),
        ),
        (
            r"ghs_[A-Za-z0-9]{36}",
            TokenType("github-app-installation-token", "github", False, "GitHub App installation token"),
        ),
        (
            r"glpat-[A-Za-z0-9_-]{20,}",
            TokenType("gitlab-pat", "gitlab", True, "GitLab personal access token"),
        ),
        (
            r"xoxp-[0-9A-Za-z-]{20,}",
            TokenType("slack-user-token", "slack", True, "Slack user token (acts as the person)"),
        ),
        (r"xoxb-[0-9A-Za-z-]{20,}", TokenType("slack-bot-token", "slack", False, "Slack bot token")),
        (
            r"AKIA[0-9A-Z]{16}",
            TokenType("aws-access-key", "aws", True, "long-lived AWS access key of an IAM user"),
        ),
        (r"ASIA[0-9A-Z]{16}", TokenType("aws-session-key", "aws", False, "temporary AWS session key")),
        (
            r"ATATT3[A-Za-z0-9_=-]{20,}",
            TokenType(
                "atlassian-api-token", "atlassian", True, "Atlassian API token with all of the user's access"
            ),
        ),
        (r"lin_api_[A-Za-z0-9]{30,}", TokenType("linear-api-key", "linear", True, "Linear personal API key")),
        (r"sntryu_[a-f0-9]{40,}", TokenType("sentry-user-token", "sentry", True, "Sentry user auth token")),
        (
            r"sk-ant-[A-Za-z0-9_-]{20,}",
            TokenType("anthropic-api-key", "anthropic", False, "Anthropic API key"),
        ),
        (
            r"sk-proj-[A-Za-z0-9_-]{20,}",
            TokenType("openai-project-key", "openai", False, "OpenAI project key"),
        ),
        (r"AIza[0-9A-Za-z_-]{35}", TokenType("google-api-key", "gcp", False, "Google API key")),
        (r"npm_[A-Za-z0-9]{36}", TokenType("npm-token", "npm", False, "npm access token")),
        (r"(sk|rk)_live_[A-Za-z0-9]{20,}", TokenType("stripe-live-key", "stripe", False, "Stripe live key")),
    )
)


def classify_token(value: str) -> tuple[TokenType, str] | None:
    """The known token type found in a value, and the token itself."""
    for pattern, ttype in _TOKENS:
        m = pattern.search(value)
        if m:
            return ttype, m.group(0)
    return None


def secret_attrs(value: str) -> dict[str, Any]:
    """What a config finding records about a literal credential: its redacted form and run id
    (equal values, equal ids in one run); the finding's fingerprint rests on the variable's name."""
    ident, redacted = secret_ids.describe(value)
    out: dict[str, Any] = {"redacted": redacted, "secret_hash": ident}
    known = classify_token(value)
    if known:
        out["token_type"] = known[0].name
        out["token_provider"] = known[0].provider
    return out


def obs(rule_id: str, path: str, line: int, message: str, key: str, **attrs: Any) -> Observation:
    return Observation(rule_id, Location(path=path, line=line), message, {"key": key, **attrs})
