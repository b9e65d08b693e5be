"""A file finding names its repository once a result covers several."""

from __future__ import annotations

from datetime import datetime, timezone

from nhiscan.model import Finding, Inventory, Location, Report, Severity, SourceRef
from nhiscan.report._common import repository_labels, where


def _finding(repo: str, path: str, line: int) -> Finding:
    return Finding(
        rule_id="secret-generic",
        title="t",
        severity=Severity.LOW,
        owasp_nhi=("NHI2:2025",),
        message="m",
        remediation="r",
        fingerprint=f"sha256:{repo}{path}",
        location=Location(path=path, line=line, repository=repo),
    )


def _report(*findings: Finding, sources: tuple[SourceRef, ...] = ()) -> Report:
    return Report(
        as_of=datetime(2026, 11, 1, tzinfo=timezone.utc),
        inventory=Inventory(sources=sources),
        findings=findings,
        risks={},
    )


def test_one_repository_keeps_the_bare_path() -> None:
    f = _finding("fixtures/repos/acme-web", "app/settings.py", 9)
    report = _report(f)
    assert repository_labels(report) == {}
    assert where(f, repository_labels(report)) == "app/settings.py:9"


def test_several_repositories_get_the_shortest_unique_names() -> None:
    a = _finding("fixtures/repos/acme-web", "app/settings.py", 9)
    b = _finding("/tmp/x/acme-infra", "scripts/nightly-sync.sh", 5)
    c = _finding("fixtures/rules/one/fires/repo", "Jenkinsfile", 3)
    d = _finding("fixtures/rules/two/fires/repo", "Jenkinsfile", 3)
    labels = repository_labels(_report(a, b, c, d))
    assert where(a, labels) == "acme-web/app/settings.py:9"
    assert where(b, labels) == "acme-infra/scripts/nightly-sync.sh:5"
    assert where(c, labels) == "one/fires/repo/Jenkinsfile:3"
    assert where(d, labels) == "two/fires/repo/Jenkinsfile:3"


def test_a_scanned_repository_without_findings_still_counts() -> None:
    f = _finding("acme-web", "app/settings.py", 9)
    other = SourceRef(kind="repository", scope=None, path="acme-infra")
    labels = repository_labels(_report(f, sources=(other,)))
    assert where(f, labels) == "acme-web/app/settings.py:9"


def test_a_file_given_as_path_is_named_by_its_path() -> None:
    a = _finding("fixtures/repos/acme-infra/scripts/nightly-sync.sh", "nightly-sync.sh", 5)
    b = _finding("other/deploy.sh", "deploy.sh", 2)
    labels = repository_labels(_report(a, b))
    assert where(a, labels) == "fixtures/repos/acme-infra/scripts/nightly-sync.sh:5"
    assert where(b, labels) == "other/deploy.sh:2"
