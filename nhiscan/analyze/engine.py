"""Runs every enabled rule's check over the inventory and assembles the Report."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import os
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from nhiscan import __version__, inline_ignore
from nhiscan.analyze import vendors
from nhiscan.analyze.checks import CheckContext, Hit, registry
from nhiscan.analyze.priority import prioritize
from nhiscan.analyze.rules import Rule, load_catalog
from nhiscan.analyze.score import score_identities
from nhiscan.config import Settings
from nhiscan.errors import NhiscanError
from nhiscan.model import Finding, Inventory, Report, Severity, SourceError


def fingerprint(rule_id: str, hit: Hit) -> str:
    """Stable across runs: rule, identity, credential, repository, file path and a secret/extra key,
    never a line. The repository is its stable name (sources/repo/naming.py), so identical problems
    in two repositories are two findings, and a checkout and CI agree."""
    loc = hit.location if hit.location_in_fingerprint else None
    repo = (loc.repository_name or loc.repository) if loc else None
    return _digest(rule_id, hit, hit.key, [f"repository={repo}"] if repo else [])


def legacy_fingerprint(rule_id: str, hit: Hit) -> str:
    """The fingerprint nhiscan gave this hit before fingerprints named the repository and before
    secret keys were keyed hashes; only ever compared with baselines and waivers written then."""
    return _digest(rule_id, hit, hit.key if hit.legacy_key is None else hit.legacy_key, [])


def _digest(rule_id: str, hit: Hit, key: str, extra: list[str]) -> str:
    loc = hit.location if hit.location_in_fingerprint else None
    parts = [
        rule_id,
        hit.identity.id if hit.identity else "",
        hit.credential.id if hit.credential else "",
        loc.path if loc else "",
        loc.commit or "" if loc else "",
        key,
        *extra,
    ]
    # surrogateescape: a file name that is not UTF-8 (bytes a POSIX file system allows) hashes as its bytes
    return "sha256:" + hashlib.sha256("\x1f".join(parts).encode("utf-8", "surrogateescape")).hexdigest()


def effective_params(rule: Rule, settings: Settings) -> dict[str, Any]:
    """The rule's defaults with the config's overrides, each checked against the rule's param_spec
    (type and range): a wrong one is an error naming the file, the table and the key."""
    overrides = settings.params.get(rule.id, {})
    where = f"{settings.path or 'config'}: [params.{rule.id}]"
    unknown = set(overrides) - set(rule.params)
    if unknown:
        raise NhiscanError(
            f"{where}: rule {rule.id} has no parameter(s) {', '.join(sorted(unknown))}"
            f" (known: {', '.join(sorted(rule.params)) or 'none'})"
        )
    for key, value in overrides.items():
        spec = rule.param_spec.get(key)
        wrong = spec.problem(value) if spec is not None else None
        if wrong:
            raise NhiscanError(f"{where} {key}: {wrong}")
    return {**rule.params, **overrides}


def validate_settings(settings: Settings, catalog: Iterable[Rule]) -> None:
    """Every rule id the config names exists, and every parameter override fits its rule."""
    catalog = tuple(catalog)
    known = {r.id for r in catalog}
    for where, ids in (
        ("disable", settings.disabled),
        ("severity", settings.severity.keys()),
        ("params", settings.params.keys()),
    ):
        unknown = sorted(set(ids) - known)
        if unknown:
            raise NhiscanError(
                f"{settings.path or 'config'}: {where}: unknown rule id(s): {', '.join(unknown)}"
            )
    for rule in catalog:
        if rule.id in settings.params:
            effective_params(rule, settings)
    if settings.known_vendors_file or os.environ.get(vendors.ENV_VAR):
        vendors.load(settings)  # a replacement vendor list that cannot be read fails before collection


def make_finding(rule: Rule, hit: Hit, settings: Settings) -> Finding:
    # A user's override wins; otherwise the check may raise or lower the rule's default for this hit.
    override = settings.severity.get(rule.id)
    severity = override or hit.severity or rule.severity
    message = hit.message
    if override is None and severity.rank > rule.severity.rank:
        message += f" (severity raised from the rule's {rule.severity.value} to {severity.value}" + (
            f": {hit.severity_reason})" if hit.severity_reason else ")"
        )
    owasp = _owasp(rule.owasp_nhi, hit.owasp_extra)
    cred = hit.credential
    fp = fingerprint(rule.id, hit)
    legacy = legacy_fingerprint(rule.id, hit)
    return Finding(
        rule_id=rule.id,
        title=rule.title,
        severity=severity,
        owasp_nhi=owasp,
        message=message,
        remediation=rule.remediation,
        fingerprint=fp,
        identity_id=hit.identity.id if hit.identity else None,
        credential_id=cred.id if cred else None,
        location=hit.location,
        evidence=dict(hit.evidence),
        legacy_fingerprint=legacy if legacy != fp else None,
    )


@functools.lru_cache(maxsize=256)
def _owasp(own: tuple[str, ...], extra: tuple[str, ...]) -> tuple[str, ...]:
    """The rule's OWASP categories and the hit's extra ones, once each: one shared tuple per
    combination (a large estate has millions of findings and a handful of combinations)."""
    return tuple(dict.fromkeys((*own, *extra)))


def run_rules(
    inventory: Inventory,
    as_of: datetime,
    settings: Settings,
    catalog: tuple[Rule, ...] | None = None,
    progress: bool = False,
    memo: dict[str, Any] | None = None,
) -> list[Finding]:
    """Every enabled rule's findings; ``memo`` holds the scan's derived analyses (privilege, the
    escalation graph), shared with the caller when given."""
    from nhiscan.sources.feedback import Feedback

    rules = catalog if catalog is not None else load_catalog()
    validate_settings(settings, rules)
    checks = registry()
    memo = {} if memo is None else memo
    findings: dict[str, Finding] = {}
    enabled = [r for r in rules if r.id not in settings.disabled]
    with Feedback(progress) as feedback:  # on a terminal only: rules done, time left
        what = f"analysing {len(inventory.identities):,} identities"
        task = feedback.task(what, total=len(enabled))
        for rule in enabled:
            _run_rule(rule, checks, inventory, as_of, settings, memo, findings)
            feedback.update(task, advance=1, description=f"{what}: {len(findings):,} findings")
    # in the order the rules found them: ``prioritize`` gives every output its order, and scoring
    # orders each identity's own few (a sort of the millions here cost as much as that one)
    return list(findings.values())


def _run_rule(
    rule: Rule,
    checks: Mapping[str, Callable[[CheckContext], Iterable[Hit]]],
    inventory: Inventory,
    as_of: datetime,
    settings: Settings,
    memo: dict[str, Any],
    findings: dict[str, Finding],
) -> None:
    fn = checks.get(rule.check)
    if fn is None:
        raise NhiscanError(f"rule {rule.id}: no check named {rule.check!r}")
    ctx = CheckContext(
        rule=rule,
        inventory=inventory,
        as_of=as_of,
        params=effective_params(rule, settings),
        settings=settings,
        memo=memo,
    )
    for hit in fn(ctx):
        finding = make_finding(rule, hit, settings)
        findings.setdefault(finding.fingerprint, finding)


def analyze(
    inventory: Inventory,
    as_of: datetime,
    settings: Settings,
    errors: Iterable[SourceError] = (),
    waive: Mapping[str, Mapping[str, Any]] | Callable[[Finding], Mapping[str, Any] | None] | None = None,
    progress: bool = False,
) -> Report:
    """Findings, waivers/baseline applied, risk scores.

    ``waive`` maps fingerprint -> waiver record, or is a function giving a finding's record (see
    nhiscan.waivers). A record with ``expired: true`` is attached but does not waive.
    """
    memo: dict[str, Any] = {}
    findings = [
        _waived(f, rec) if (rec := inline_waiver(f)) else f
        for f in run_rules(inventory, as_of, settings, progress=progress, memo=memo)
    ]
    if waive:
        table = waive
        match = table if callable(table) else (lambda f: lookup(table, f))
        findings = [
            _waived(f, rec) if not f.waived and (rec := match(f)) is not None else f for f in findings
        ]
    from nhiscan.analyze.graph import reachable

    reach = reachable(inventory, as_of, memo)
    # Nothing below reads the derived analyses (the escalation graph, privilege and statement
    # caches): freed now, their memory serves scoring and ordering instead of fresh pages.
    memo.clear()
    risks = score_identities(inventory, findings, load_catalog(), reach)
    from nhiscan.analyze.logging import posture

    return Report(
        as_of=as_of,
        inventory=inventory,
        findings=tuple(prioritize(findings, inventory.identities, risks)),
        risks=risks,
        errors=tuple(errors),
        tool_version=__version__,
        logging=posture(inventory),
        reach=reach,
    )


def lookup(table: Mapping[str, Mapping[str, Any]], f: Finding) -> Mapping[str, Any] | None:
    """A finding's record in a fingerprint table: by its fingerprint, else by the fingerprint an
    earlier version gave it (tables written by those versions)."""
    rec = table.get(f.fingerprint)
    if rec is None and f.legacy_fingerprint is not None:
        rec = table.get(f.legacy_fingerprint)
    return rec


def inline_waiver(f: Finding) -> Mapping[str, Any] | None:
    """The record of an inline marker (``nhiscan:ignore[rule] reason``, ``pragma: allowlist secret``,
    ``gitleaks:allow``) that covers the finding's rule, on its line or the one above, or None."""
    if not f.evidence:
        return None
    loc = f.location
    return inline_ignore.waiver(f.rule_id, f.evidence, loc.path if loc else "", loc.line if loc else None)


def _waived(f: Finding, waiver: Mapping[str, Any]) -> Finding:
    return dataclasses.replace(f, waived=not waiver.get("expired"), waiver=dict(waiver))


def exit_code(report: Report, fail_on: Severity | None) -> int:
    """0 clean, 1 findings at/above the threshold, 2 when any input failed (an error outranks findings)."""
    if report.errors:
        return 2
    return 1 if fails_threshold(report, fail_on) else 0


def fails_threshold(report: Report, fail_on: Severity | None) -> bool:
    """Any unwaived finding at or above ``fail_on`` (None: never)."""
    if fail_on is None:
        return False
    return any(not f.waived and f.severity.rank >= fail_on.rank for f in report.findings)
