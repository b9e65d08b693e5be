"""Extra detect-secrets plugins for tokens detect-secrets 1.5 does not know.

detect-secrets loads custom plugins from a file path (``{"name": ..., "path": "file://..."}``), so
this module imports nothing but detect-secrets and can also be handed to the `detect-secrets`
command itself (``detect-secrets scan --plugin <this file>``), which the benchmark does to compare
both tools on the same plugin set.

Each class carries ``prefilter``: a regex that every line the plugin can fire on must contain (a
necessary condition, usually the literal prefix of the token), used by nhiscan's whole-file pass,
and ``prefilter_casefold`` when that regex applies to the case-folded text; ``prefilter_literal``
is a literal every match holds (the regex is only searched in texts that hold it).
"""

import re

from detect_secrets.plugins.base import RegexBasedDetector

# A token boundary: the characters tokens are made of never continue before or after the match.
_B = r"(?<![A-Za-z0-9_\-])"
_E = r"(?![A-Za-z0-9_\-])"


class AnthropicKeyDetector(RegexBasedDetector):
    """Anthropic API and admin keys (sk-ant-api03-..., sk-ant-admin01-...)."""

    secret_type = "Anthropic API Key"
    prefilter = r"sk-ant-"
    prefilter_literal = "sk-ant-"
    prefilter_casefold = False
    denylist = (re.compile(_B + r"(sk-ant-(?:api|admin)\d\d-[A-Za-z0-9_\-]{80,120})" + _E),)


class OpenAIProjectKeyDetector(RegexBasedDetector):
    """OpenAI project, service-account and admin keys (sk-proj-, sk-svcacct-, sk-admin-)."""

    secret_type = "OpenAI Project Key"
    prefilter = r"sk-(?:proj|svcacct|admin)-"
    prefilter_literal = "sk-"
    prefilter_casefold = False
    denylist = (re.compile(_B + r"(sk-(?:proj|svcacct|admin)-[A-Za-z0-9_\-]{40,250})" + _E),)


class HuggingFaceTokenDetector(RegexBasedDetector):
    """Hugging Face user access tokens (hf_ followed by 34 letters)."""

    secret_type = "Hugging Face Token"
    prefilter = r"hf_"
    prefilter_literal = "hf_"
    prefilter_casefold = False
    denylist = (re.compile(_B + r"(hf_[A-Za-z]{34})" + _E),)


class AzureClientSecretDetector(RegexBasedDetector):
    """Microsoft Entra ID (Azure AD) application client secrets: 40 characters with `8Q~` at 3..6."""

    secret_type = "Azure AD Client Secret"
    prefilter = r"\dQ~"
    prefilter_literal = "Q~"
    prefilter_casefold = False
    denylist = (
        re.compile(
            r"(?<![A-Za-z0-9_~.\-])([A-Za-z0-9_~.\-]{3}\dQ~[A-Za-z0-9_~.\-]{31,34})(?![A-Za-z0-9_~.\-])"
        ),
    )


class GitHubFineGrainedTokenDetector(RegexBasedDetector):
    """GitHub fine-grained personal access tokens (github_pat_...)."""

    secret_type = "GitHub Fine-Grained Token"
    prefilter = r"github_pat_"
    prefilter_literal = "github_pat_"
    prefilter_casefold = False
    denylist = (re.compile(_B + r"(github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59})" + _E),)


class NpmAccessTokenDetector(RegexBasedDetector):
    """npm access tokens (npm_ followed by 36 characters), wherever they appear."""

    secret_type = "npm Access Token"
    prefilter = r"npm_"
    prefilter_literal = "npm_"
    prefilter_casefold = False
    denylist = (re.compile(_B + r"(npm_[A-Za-z0-9]{36})" + _E),)


class AWSSecretAccessKeyDetector(RegexBasedDetector):
    """AWS secret access keys assigned to a recognisable name, quoted or not (credentials files, env)."""

    secret_type = "AWS Secret Access Key"
    prefilter = r"secret_?access_?key"
    prefilter_literal = "secret"
    prefilter_casefold = True
    denylist = (
        re.compile(
            r"(?i:aws)?_?(?i:secret)_?(?i:access)_?(?i:key)[\"']?\s*[:=]\s*[\"']?"
            r"(?<![A-Za-z0-9/+])([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])"
        ),
    )
