"""Every CI file under fixtures/rules/<rule>/{fires,silent}/repo (GitHub Actions workflows, GitLab
CI, Azure Pipelines and CircleCI files) is one pattern: each file in `fires` makes its rule fire in
that file (at the severity its first line names, `# expect-severity: LEVEL`, when it names one),
each file in `silent` never does.

tests/test_rule_fixtures.py checks each case directory as a whole; this checks file by file, so a
pattern that stops firing cannot hide behind another file of the same case.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from nhiscan.sources.repo.configs import config_kind
from tests.test_rule_fixtures import RULES_FIXTURES, scan_case

_EXPECT = re.compile(r"#\s*expect-severity:\s*(\w+)")
_CI = {"github", "gitlab", "azure", "circleci"}


def _cases() -> list[tuple[str, str]]:
    return [
        (rule_dir.name, case)
        for rule_dir in sorted(RULES_FIXTURES.iterdir())
        for case in ("fires", "silent")
        if _workflows(rule_dir.name, case)
    ]


def _workflows(rule: str, case: str) -> list[Path]:
    repo = RULES_FIXTURES / rule / case / "repo"
    if not repo.is_dir():
        return []
    return sorted(p for p in repo.rglob("*.y*ml") if config_kind(p.relative_to(repo).as_posix()) in _CI)


def test_corpus_has_at_least_sixty_workflow_patterns() -> None:
    files = [f for rule, case in _cases() for f in _workflows(rule, case)]
    assert len(files) >= 60, len(files)
    # every CI system with rules of its own has patterns of its own
    kinds = {config_kind(f.as_posix().split("/repo/", 1)[1]) for f in files}
    assert kinds == _CI, kinds
    assert sum(1 for rule, case in _cases() if case == "silent") >= 10


@pytest.mark.parametrize(("rule", "case"), _cases())
def test_each_workflow_pattern(rule: str, case: str) -> None:
    report = scan_case(RULES_FIXTURES / rule / case)
    assert not report.errors, report.errors
    by_file: dict[str, list[str]] = {}
    for f in report.findings:
        if f.rule_id == rule and f.location is not None:
            by_file.setdefault(f.location.path, []).append(f.severity.value)
    problems = []
    repo = RULES_FIXTURES / rule / case / "repo"
    for path in _workflows(rule, case):
        got = by_file.get(path.relative_to(repo).as_posix(), [])
        if case == "silent":
            if got:
                problems.append(f"{path.name}: fired ({got})")
            continue
        if not got:
            problems.append(f"{path.name}: did not fire")
            continue
        first = path.read_text().splitlines()[0]
        expect = _EXPECT.match(first)
        if expect and set(got) != {expect.group(1)}:
            problems.append(f"{path.name}: severity {got}, expected {expect.group(1)}")
    assert not problems, "\n".join(problems)
