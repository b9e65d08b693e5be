"""Every rule in the catalog fires on its `fires` fixture and stays silent on its `silent` one.

Layout: fixtures/rules/<rule-id>/{fires,silent}/ holding
  - export files (any file at the top level except the ones below): passed as --input;
  - repo/: a directory tree passed as a PATH to scan;
  - nhiscan.toml (optional): settings for that case;
  - scopes.yaml (optional): FILE: SCOPE for exports that need --input SCOPE=FILE;
  - as_of (optional): the evaluation date, default 2026-11-01.
The scan runs through the same core the CLI uses; tests/e2e drives the console script itself.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest
import yaml

from nhiscan.analyze.checks import registry
from nhiscan.analyze.rules import load_catalog
from nhiscan.config import InputSpec, ScanConfig, load_settings
from nhiscan.core import run_scan
from tests.conftest import FIXTURES

RULES_FIXTURES = FIXTURES / "rules"
CATALOG = load_catalog()
SPECIAL = {"repo", "nhiscan.toml", "as_of", "README.md", "scopes.yaml"}


def scan_case(case: Path):  # type: ignore[no-untyped-def]
    as_of_file = case / "as_of"
    day = as_of_file.read_text().strip() if as_of_file.exists() else "2026-11-01"
    toml = case / "nhiscan.toml"
    settings = load_settings(str(toml)) if toml.exists() else load_settings(None, search_from=case)
    scopes_file = case / "scopes.yaml"
    scopes = yaml.safe_load(scopes_file.read_text()) if scopes_file.exists() else {}
    inputs = tuple(
        InputSpec(str(p), scopes.get(p.name))
        for p in sorted(case.iterdir())
        if p.name not in SPECIAL and p.is_file()
    )
    paths = (str(case / "repo"),) if (case / "repo").is_dir() else ()
    config = ScanConfig(
        as_of=datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=timezone.utc),
        inputs=inputs,
        paths=paths,
        settings=settings,
    )
    return run_scan(config)


def test_every_rule_has_a_check_and_both_fixtures() -> None:
    checks = registry()
    problems = []
    for rule in CATALOG:
        if rule.check not in checks:
            problems.append(f"{rule.id}: no check {rule.check!r}")
        for case in ("fires", "silent"):
            d = RULES_FIXTURES / rule.id / case
            if not d.is_dir() or not any(d.iterdir()):
                problems.append(f"{rule.id}: missing fixture {d.relative_to(FIXTURES)}")
    orphans = {p.name for p in RULES_FIXTURES.iterdir()} - {r.id for r in CATALOG}
    problems += [f"fixture for unknown rule {o}" for o in sorted(orphans)]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("rule_id", [r.id for r in CATALOG])
def test_rule_fires_on_positive_fixture(rule_id: str) -> None:
    report = scan_case(RULES_FIXTURES / rule_id / "fires")
    assert not report.errors, report.errors
    hits = [f for f in report.findings if f.rule_id == rule_id]
    assert hits, f"{rule_id} did not fire; findings: {sorted({f.rule_id for f in report.findings})}"
    rule = next(r for r in CATALOG if r.id == rule_id)
    for f in hits:
        assert set(rule.owasp_nhi) <= set(f.owasp_nhi)
        assert f.fingerprint.startswith("sha256:")


@pytest.mark.parametrize("rule_id", [r.id for r in CATALOG])
def test_rule_silent_on_negative_fixture(rule_id: str) -> None:
    report = scan_case(RULES_FIXTURES / rule_id / "silent")
    assert not report.errors, report.errors
    # A finding waived by an inline marker (``pragma: allowlist secret``) is reported, but does not fire.
    hits = [f for f in report.findings if f.rule_id == rule_id and not f.waived]
    assert not hits, [h.message for h in hits]
