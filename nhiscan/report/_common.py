"""Helpers shared by the CI and compliance formats (SARIF, CSV, Markdown, HTML).

Everything here is a pure function of the Report (plus the rule catalog shipped with nhiscan), so a
saved result re-renders exactly like a fresh scan.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import PurePath

from nhiscan.model import OWASP_NHI, Finding, Identity, Report, Severity, SourceRef

SEVERITIES = tuple(Severity)  # critical first


def owasp_sort_key(oid: str) -> int:
    try:
        return int(oid[3:].split(":")[0])
    except ValueError:
        return 99


def owasp_title(oid: str) -> str:
    return OWASP_NHI.get(oid, oid)


@dataclass(frozen=True)
class RuleInfo:
    """What a report says about a rule: the catalog's metadata, or what the findings carry."""

    id: str
    title: str
    severity: Severity
    owasp_nhi: tuple[str, ...]
    why: str
    remediation: str
    references: tuple[str, ...]
    frameworks: Mapping[str, tuple[str, ...]]


def rule_infos(findings: Iterable[Finding]) -> dict[str, RuleInfo]:
    """One entry per rule id that appears, in order of first appearance.

    Metadata comes from the installed catalog; a rule the catalog no longer knows (a result saved by
    another version) falls back to the finding's own title and remediation. The severity is the
    highest one among the rule's findings, so user overrides show up in the rule entry too.
    """
    from nhiscan.analyze.rules import controls_for, load_catalog, load_frameworks

    try:
        catalog = {r.id: r for r in load_catalog()}
        frameworks = load_frameworks()
    except Exception:  # a broken local catalog must not stop rendering a saved result
        catalog, frameworks = {}, {}
    out: dict[str, RuleInfo] = {}
    worst: dict[str, Severity] = {}
    owasp: dict[str, list[str]] = {}
    first: dict[str, Finding] = {}
    for f in findings:
        first.setdefault(f.rule_id, f)
        if f.rule_id not in worst or f.severity.rank > worst[f.rule_id].rank:
            worst[f.rule_id] = f.severity
        owasp.setdefault(f.rule_id, [])
        owasp[f.rule_id].extend(x for x in f.owasp_nhi if x not in owasp[f.rule_id])
    for rid, f in first.items():
        rule = catalog.get(rid)
        ids = tuple(dict.fromkeys((*(rule.owasp_nhi if rule else ()), *owasp[rid])))
        if rule is not None:
            fw = {name: controls_for(table, ids, rid) for name, table in frameworks.items()}
            out[rid] = RuleInfo(
                id=rid,
                title=rule.title,
                severity=worst[rid],
                owasp_nhi=ids,
                why=rule.why,
                remediation=rule.remediation,
                references=rule.references,
                frameworks={k: v for k, v in fw.items() if v},
            )
        else:
            fw = {name: controls_for(table, ids) for name, table in frameworks.items()}
            out[rid] = RuleInfo(
                id=rid,
                title=f.title,
                severity=worst[rid],
                owasp_nhi=ids,
                why="",
                remediation=f.remediation,
                references=(),
                frameworks={k: v for k, v in fw.items() if v},
            )
    return out


def owasp_counts(findings: Iterable[Finding]) -> dict[str, tuple[int, Severity]]:
    """OWASP id -> (active findings, worst severity), in NHI1..NHI10 order."""
    n: Counter[str] = Counter()
    worst: dict[str, Severity] = {}
    for f in findings:
        if f.waived:
            continue
        for oid in f.owasp_nhi:
            n[oid] += 1
            if oid not in worst or f.severity.rank > worst[oid].rank:
                worst[oid] = f.severity
    return {k: (n[k], worst[k]) for k in sorted(n, key=owasp_sort_key)}


def ranked_identities(report: Report) -> list[Identity]:
    """Identities with a positive risk score, highest first."""
    return sorted(
        (i for i in report.inventory.identities if report.risks.get(i.id) and report.risks[i.id].score > 0),
        key=lambda i: (-report.risks[i.id].score, i.id),
    )


# Exports that list the identities themselves, rather than facts about them.
_IDENTITY_LISTS = frozenset(
    {"aws-gaad", "gcp-service-accounts", "gcp-asset-iam-policies", "azure-sp-list", "kubernetes-objects"}
)


def identity_source(report: Report, identity: Identity | None) -> SourceRef | None:
    """The export an identity was read from, when the result says so.

    An identity may name its file in ``attributes["source_path"]``. Otherwise a source of the
    identity's provider whose scope is the identity's scope is taken, then one of that provider
    without a scope, then one whose scope the identity holds grants in (a service account of another
    project, known only from a binding in this project's policy), then any export of the provider
    (an identity is read from one of them); among those, the export that lists the identities
    themselves (the GAAD, the service-account or service-principal list) comes before the ones that
    add to them (credential report, keys, policies), then the order the inputs were given. Live
    sources have no path: None.
    """
    if identity is None:
        return None
    path = identity.attributes.get("source_path")
    if isinstance(path, str) and path:
        return SourceRef(kind=identity.provider, scope=identity.scope, path=path)
    same_provider = sorted(
        (s for s in report.inventory.sources if s.path and s.kind.split("-")[0] == identity.provider),
        key=lambda s: s.kind not in _IDENTITY_LISTS,
    )
    granted = {part for g in identity.grants for part in (g.scope, g.scope.rsplit("/", 1)[-1]) if part}
    for wanted in (
        lambda s: s.scope == identity.scope,
        lambda s: not s.scope,
        lambda s: s.scope in granted,
        lambda s: True,
    ):
        for s in same_provider:
            if wanted(s):
                return s
    return None


def identities_by_id(report: Report) -> dict[str, Identity]:
    return {i.id: i for i in report.inventory.identities}


def repository_labels(report: Report) -> dict[str, str]:
    """Short names for the scanned repositories, when a result covers several; else empty.

    A file finding's path is relative to its repository, so with two repositories `app/settings.py`
    alone does not say which one. Each repository is named by the fewest trailing path parts that
    no other repository of the result shares (`acme-web`, or `fires/repo` style suffixes).
    """
    repos: set[str] = {s.path for s in report.inventory.sources if s.kind == "repository" and s.path}
    repos.update(f.location.repository for f in report.findings if f.location and f.location.repository)
    if len(repos) < 2:
        return {}
    parts = {r: PurePath(r).parts for r in repos}
    labels: dict[str, str] = {}
    for repo, own in parts.items():
        label = repo
        for k in range(1, len(own) + 1):
            if not any(other[-k:] == own[-k:] for r, other in parts.items() if r != repo):
                label = "/".join(own[-k:]).replace("//", "/")
                break
        labels[repo] = label
    return labels


def identity_label(ident: Identity) -> str:
    """The name people know an identity by: a GCP service account's email (display names are free
    text and often absent), a Kubernetes service account's namespace/name (the same name recurs
    across namespaces), otherwise its name (an Azure application's display name, not its object id;
    an AWS user's or role's name), else its id."""
    if ident.provider == "gcp" and "@" in ident.id:
        return ident.id.rsplit("/", 1)[-1]
    if ident.provider == "kubernetes" and ident.id.count(":") >= 2:
        return ident.id.split(":", 2)[2]
    return ident.name or ident.id


def identity_place(ident: Identity) -> str:
    """``name (scope)``: the name people know and the account, project, tenant or cluster."""
    label = identity_label(ident)
    if not ident.scope or ident.scope == label:
        return label
    return f"{label} {ident.scope}" if ident.scope.startswith("(") else f"{label} ({ident.scope})"


def where(
    f: Finding,
    repositories: Mapping[str, str] | None = None,
    identities: Mapping[str, Identity] | None = None,
) -> str:
    """A one-line place: [repository/]path:line @commit, or the identity.

    ``repositories`` (from :func:`repository_labels`) names the repository when there are several.
    With ``identities`` (from :func:`identities_by_id`), an identity shows as the name people know
    and its scope (:func:`identity_place`); without, as its id.
    """
    if f.location:
        repo = f.location.repository or ""
        label = (repositories or {}).get(repo)
        if label and PurePath(repo).name == f.location.path:
            loc = repo  # a single file given as PATH: its path as given says it all
        else:
            loc = (f"{label}/" if label else "") + f.location.path
        loc += f":{f.location.line}" if f.location.line else ""
        if f.location.commit:
            loc += f" @{f.location.commit[:10]}"
        return loc
    ident = (identities or {}).get(f.identity_id or "")
    if ident is not None:
        return identity_place(ident)
    return f.identity_id or ""


def waiver_reason(f: Finding) -> str:
    w = f.waiver or {}
    return str(w.get("reason") or w.get("justification") or ("waived" if f.waived else ""))


def waiver_expiry(f: Finding) -> str:
    w = f.waiver or {}
    value = w.get("expires") or w.get("expiry") or ""
    return str(value)


# Repeated findings of one rule at these severities share one row in the terminal and Markdown views
# (JSON, CSV, SARIF and HTML keep one entry per finding).
GROUPED_SEVERITIES = frozenset({Severity.LOW, Severity.INFO})
GROUP_MIN = 3


def grouped(findings: Iterable[Finding]) -> list[tuple[Finding, ...]]:
    """Rows for a summary view: one per finding, except that the low and info findings of one rule
    (GROUP_MIN or more at one severity) share a row at the place of the first of them. The order of
    ``findings`` (the order to fix them) is kept."""
    items = list(findings)
    members: dict[tuple[str, Severity], list[Finding]] = {}
    for f in items:
        if f.severity in GROUPED_SEVERITIES:
            members.setdefault((f.rule_id, f.severity), []).append(f)
    rows: list[tuple[Finding, ...]] = []
    placed: set[tuple[str, Severity]] = set()
    for f in items:
        key = (f.rule_id, f.severity)
        group = members.get(key, [])
        if len(group) < GROUP_MIN:
            rows.append((f,))
        elif key not in placed:
            placed.add(key)
            rows.append(tuple(group))
    return rows


def group_summary(
    row: tuple[Finding, ...], identities: Mapping[str, Identity], shown: int = 5
) -> tuple[str, str]:
    """(where, message) of a grouped row: how many identities or files, and the first few names."""
    names: list[str] = []
    for f in row:
        ident = identities.get(f.identity_id or "")
        name = identity_label(ident) if ident else where(f)
        if name not in names:
            names.append(name)
    kind = "identities" if all(f.identity_id for f in row) else "places"
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return f"{len(row)} {kind}", f"{row[0].title}: {', '.join(names[:shown])}{more}"
