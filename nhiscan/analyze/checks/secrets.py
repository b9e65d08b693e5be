"""Secrets found in repositories and their history: one finding per secret and file.

The repository source has already decided what is a secret (detect-secrets plugins and filters,
nhiscan's placeholder filter); these checks pick, by the secret's category, which rule reports it,
and name it by type and redacted preview only. The hit key is the secret's fingerprint id (never a
guess oracle: nhiscan/secret_ids.py), so a finding keeps its fingerprint when lines move; several
occurrences of one value in one file are one finding.
"""

from __future__ import annotations

from collections.abc import Iterator

from nhiscan.analyze.checks import CheckContext, Hit, check
from nhiscan.model import Secret, Severity

# Attributes that help link a secret to an identity (identifiers, never secret material).
LINK_ATTRIBUTES = ("key_id", "private_key_id", "client_email", "hint", "client_id")

# Per-type severity within a rule (the rule's YAML severity applies otherwise).
_TYPE_SEVERITY = {
    "AWS access key id": Severity.HIGH,
    "high-entropy string": Severity.LOW,
    "JSON web token": Severity.MEDIUM,
}


_SEVERITY = {s.value: s for s in Severity}
# Catalogue facts and inline suppression markers carried into a finding's evidence.
_EXTRA_EVIDENCE = (
    "kind", "service", "evidence", "checksum", "inline_ignore", "inline_ignore_reason", "inline_ignore_marker",
)  # fmt: skip


def secret_groups(ctx: CheckContext, category: str) -> Iterator[tuple[Secret, list[int]]]:
    """Reported secrets of one category, grouped per (file, commit, hash), first occurrence first."""
    groups: dict[tuple[str | None, str, str | None, str], tuple[Secret, list[int]]] = {}
    for s in ctx.inventory.secrets:
        if s.attributes.get("suppressed") or s.attributes.get("category") != category:
            continue
        key = (s.location.repository, s.location.path, s.location.commit, s.hash)
        if key in groups:
            groups[key][1].append(s.location.line or 0)
        else:
            groups[key] = (s, [s.location.line or 0])
    yield from groups.values()


def secret_key(secret: Secret) -> str:
    """A secret's part of its finding's fingerprint (the run id for a secret read back from a file
    that has no fingerprint id: stable within the run only)."""
    return secret.fingerprint_id or secret.hash


def legacy_secret_key(secret: Secret) -> str | None:
    """The key earlier versions used (plain sha256 hex), known in memory only."""
    return secret.digest.hex() if secret.digest else None


def secret_hit(secret: Secret, lines: list[int]) -> Hit:
    loc = secret.location
    where = f"{loc.path}:{loc.line}" if loc.line else loc.path
    if loc.commit:
        where += f" in commit {loc.commit[:12]} (git history"
        if loc.author_date is not None:
            where += f", {loc.author_date.date().isoformat()}"
        if loc.commits and loc.commits > 1:
            where += f", added in {loc.commits} commits"
        if loc.in_tree is not None:
            where += ", still in the tree" if loc.in_tree else ", no longer in the tree"
        where += ")"
    more = f" and {len(lines) - 1} more line(s)" if len(lines) > 1 else ""
    links = {k: str(secret.attributes[k]) for k in LINK_ATTRIBUTES if k in secret.attributes}
    extra = "".join(f", {k} {v}" for k, v in links.items() if k in ("key_id", "client_email", "client_id"))
    return Hit(
        message=f"{secret.type} {secret.redacted} found at {where}{more}{extra}",
        location=loc,
        key=secret_key(secret),
        legacy_key=legacy_secret_key(secret),
        severity=_TYPE_SEVERITY.get(secret.type) or _SEVERITY.get(str(secret.attributes.get("severity"))),
        evidence={
            "secret_type": secret.type,
            "provider": secret.provider,
            "redacted": secret.redacted,
            "lines": sorted(set(lines)),
            "detector": secret.attributes.get("detector"),
            **{k: str(secret.attributes[k]) for k in _EXTRA_EVIDENCE if k in secret.attributes},
            **links,
        },
    )


def _paired_key_ids(ctx: CheckContext) -> set[tuple[str | None, str, str | None, str]]:
    """AWS access key ids that sit next to their secret access key in the same file and commit.

    Such a pair is one credential: the finding for the secret key names the key id, so the id alone
    is not reported a second time (an id without its secret still is).
    """
    return {
        (s.location.repository, s.location.path, s.location.commit, str(s.attributes["key_id"]))
        for s in ctx.inventory.secrets
        if s.type == "AWS secret access key"
        and "key_id" in s.attributes
        and not s.attributes.get("suppressed")
    }


@check("secret_in_repository")
def secret_in_repository(ctx: CheckContext) -> Iterator[Hit]:
    category = str(ctx.params.get("category", ""))
    paired = _paired_key_ids(ctx) if category == "cloud-key" else set()
    for secret, lines in secret_groups(ctx, category):
        loc = secret.location
        if secret.type == "AWS access key id" and (
            (loc.repository, loc.path, loc.commit, str(secret.attributes.get("key_id"))) in paired
        ):
            continue
        yield secret_hit(secret, lines)


def rule_for_category(category: str) -> str | None:
    return {
        "cloud-key": "secret-cloud-key",
        "private-key": "secret-private-key",
        "token": "secret-api-token",
        "generic": "secret-generic",
    }.get(category)
