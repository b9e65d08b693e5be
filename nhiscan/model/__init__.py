"""Provider-neutral inventory model.

Every source (cloud export, live API, repository scan) ends in these frozen dataclasses; the
analysis and the reporters only ever see them. Values are immutable and hashable where it
matters; mappings are plain dicts that nobody mutates after construction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any

SCHEMA = "nhiscan/v1"
INVENTORY_SCHEMA = "nhiscan-inventory/v1"


class Severity(str, Enum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"

    @property
    def rank(self) -> int:
        return _SEVERITY_RANK[self]

    @classmethod
    def parse(cls, value: str) -> Severity:
        try:
            return cls(value.lower())
        except ValueError:
            raise ValueError(
                f"unknown severity {value!r} (expected one of: {', '.join(s.value for s in cls)})"
            ) from None


_SEVERITY_RANK = {
    Severity.CRITICAL: 4,
    Severity.HIGH: 3,
    Severity.MEDIUM: 2,
    Severity.LOW: 1,
    Severity.INFO: 0,
}

OWASP_NHI: dict[str, str] = {
    "NHI1:2025": "Improper Offboarding",
    "NHI2:2025": "Secret Leakage",
    "NHI3:2025": "Vulnerable Third-Party NHI",
    "NHI4:2025": "Insecure Authentication",
    "NHI5:2025": "Overprivileged NHI",
    "NHI6:2025": "Insecure Cloud Deployment Configurations",
    "NHI7:2025": "Long-Lived Secrets",
    "NHI8:2025": "Environment Isolation",
    "NHI9:2025": "NHI Reuse",
    "NHI10:2025": "Human Use of NHI",
}


@dataclass(frozen=True, slots=True)
class Location:
    """A place in a file: repository-relative path, 1-based line, and the commit for history finds."""

    path: str
    line: int | None = None
    commit: str | None = None
    repository: str | None = None
    # The repository's stable name (its git remote's name, else its top-level directory name): the
    # same in a developer's checkout and in CI, so fingerprints rest on it rather than on the path.
    repository_name: str | None = None
    # History finds only: the author date of ``commit`` (the commit that first added the secret),
    # whether the same secret value is still in the scanned tree, and in how many commits it was added.
    author_date: datetime | None = None
    in_tree: bool | None = None
    commits: int | None = None


@dataclass(frozen=True, slots=True)
class Credential:
    """Something an identity authenticates with: access key, password, certificate, client secret, SA key."""

    id: str
    kind: str
    created: datetime | None = None
    last_used: datetime | None = None
    expires: datetime | None = None
    active: bool = True
    attributes: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Grant:
    """One statement of permission that applies to an identity.

    AWS statements keep their shape (Action/NotAction, Resource/NotResource, Effect, Condition).
    Role-based providers (GCP, Azure, Kubernetes) put the role in ``role`` and, where known, its
    permissions in ``actions``. ``boundary`` marks statements of a permissions boundary: they cap
    what the other grants allow and never grant anything themselves.
    """

    effect: str = "Allow"
    actions: tuple[str, ...] = ()
    not_actions: tuple[str, ...] = ()
    resources: tuple[str, ...] = ("*",)
    not_resources: tuple[str, ...] = ()
    scope: str = ""
    via: str = ""
    inherited_from: str | None = None
    role: str | None = None
    boundary: bool = False
    condition: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Trust:
    """Who may assume, impersonate or federate into the identity, and under which conditions."""

    principal_type: str
    principal: str
    actions: tuple[str, ...] = ()
    effect: str = "Allow"
    conditions: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Identity:
    id: str
    provider: str
    kind: str
    name: str
    scope: str
    owner: str | None = None
    nonhuman: bool = True
    classification: str = ""
    created: datetime | None = None
    last_used: datetime | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    credentials: tuple[Credential, ...] = ()
    grants: tuple[Grant, ...] = ()
    trusts: tuple[Trust, ...] = ()
    attributes: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Secret:
    """A secret found in a file. The value itself is never kept (nhiscan/secret_ids.py).

    ``hash`` is the run id (equal values, equal ids in one run), ``fingerprint_id`` the secret's part
    of its finding's fingerprint; neither can confirm a guess. ``digest`` (the plain sha256, needed to
    match fingerprints written by earlier versions) and ``ds_sha1`` (the sha1s detect-secrets
    baselines record) live in memory only: no output writes them.
    """

    type: str
    provider: str | None
    location: Location
    redacted: str
    hash: str
    attributes: Mapping[str, str] = field(default_factory=dict)
    fingerprint_id: str = ""
    digest: bytes = field(default=b"", repr=False, compare=False)
    ds_sha1: tuple[str, ...] = field(default=(), repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class Observation:
    """A configuration fact found in a file (CI pipeline, agent config) that a rule reports on."""

    rule_id: str
    location: Location
    message: str
    attributes: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class LogConfig:
    """What one export or API said about where a provider records identity activity, for one scope.

    One record per (kind, scope): every CloudTrail trail an account lists (with its status and event
    selectors), a project's / folder's / organization's audit configs, a subscription's Activity
    Log diagnostic settings, a tenant's Entra ID diagnostic settings, a cluster's audit logging. An
    empty listing is a fact too (no trail, no setting): absence of a record means nothing is known.
    ``analyze/logging.py`` evaluates them into the per-provider logging posture.

    kinds: ``aws-cloudtrail`` (scope: account id), ``gcp-audit-configs`` (``projects/P``,
    ``folders/F``, ``organizations/O``), ``azure-activity-log`` (subscription id),
    ``azure-entra-diagnostics`` (tenant id, or ``tenant`` when unnamed), ``kubernetes-audit``
    (cluster name).
    """

    provider: str
    kind: str
    scope: str
    attributes: Mapping[str, Any] = field(default_factory=dict)
    path: str | None = None


@dataclass(frozen=True, slots=True)
class SourceRef:
    kind: str
    scope: str | None
    path: str | None
    # Files this source holds but did not read (e.g. over the size limit), so a report can say so.
    skipped: tuple[str, ...] = ()
    # Files nhiscan itself wrote (reports, baselines, inventories): recognised by content and
    # secret-scanned like any file (only the ids, digests and inventory values they name are theirs).
    nhiscan_files: tuple[str, ...] = ()
    # Symbolic links in this source that lead outside it: never followed (their targets unread).
    links_not_followed: tuple[str, ...] = ()
    # SHA-256 (hex) of an export file's bytes as read, and the commit checked out in a git
    # repository when it was scanned: what a reviewer needs to know exactly what was scanned.
    sha256: str | None = None
    commit: str | None = None


@dataclass(frozen=True, slots=True)
class SourceError:
    source: str
    message: str


@dataclass(frozen=True, slots=True)
class Inventory:
    sources: tuple[SourceRef, ...] = ()
    identities: tuple[Identity, ...] = ()
    secrets: tuple[Secret, ...] = ()
    observations: tuple[Observation, ...] = ()
    logging: tuple[LogConfig, ...] = ()
    # Values found in files that are not credentials (placeholders, samples, checksums...), each
    # with its reason in attributes["suppressed"]: listed apart, never a finding.
    suppressed: tuple[Secret, ...] = ()
    # In one shard's inventory only (nhiscan.shard): identities of another shard's scope as this
    # shard saw them, for the grants its scopes hold for them; merging shards adds those grants.
    partial_identities: tuple[Identity, ...] = ()


@dataclass(frozen=True, slots=True)
class Finding:
    rule_id: str
    title: str
    severity: Severity
    owasp_nhi: tuple[str, ...]
    message: str
    remediation: str
    fingerprint: str
    identity_id: str | None = None
    credential_id: str | None = None
    location: Location | None = None
    evidence: Mapping[str, Any] = field(default_factory=dict)
    waived: bool = False
    waiver: Mapping[str, Any] | None = None
    # The fingerprint earlier nhiscan versions gave this finding, when it differs (in memory only:
    # baselines and waivers they wrote are matched against it).
    legacy_fingerprint: str | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class Risk:
    score: int
    level: str
    factors: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Reachable:
    """The highest privilege an identity reaches through the escalation graph, and the shortest path
    there (hops as the JSON result writes them: from, to, kind, via, file, conditional, condition;
    empty when the identity's own privilege is the highest it reaches)."""

    level: str
    path: tuple[Mapping[str, Any], ...] = ()


@dataclass(frozen=True, slots=True)
class Report:
    as_of: datetime
    inventory: Inventory
    findings: tuple[Finding, ...]
    risks: Mapping[str, Risk]
    errors: tuple[SourceError, ...] = ()
    tool_version: str = ""
    # The per-provider logging posture (analyze/logging.py): what is logged and what is not.
    logging: Mapping[str, Any] = field(default_factory=dict)
    # Per identity id: its reachable privilege and escalation path (analyze/graph).
    reach: Mapping[str, Reachable] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        out = {s.value: 0 for s in Severity}
        for f in self.findings:
            if not f.waived:
                out[f.severity.value] += 1
        return out
