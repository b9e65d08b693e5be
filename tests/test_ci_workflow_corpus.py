"""Every workflow file under fixtures/rules/<rule>/{fires,silent}/repo/.github/workflows is one
pattern: each file in `fires` makes its rule fire in that file (at the severity its first line
names, `# expect-severity: LEVEL`, when it names one), each file in `silent` never does.

tests/test_rule_fixtures.py checks each case directory as a whole; this checks file by file, so a
pattern that stops firing cannot hide behind another file of the same case.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.test_rule_fixtures import RULES_FIXTURES, scan_case

_EXPECT = re.compile(r"#\s*expect-severity:\s*(\w+)")


def _cases() -> list[tuple[str, str]]:
    out = []
    for rule_dir in sorted(RULES_FIXTURES.iterdir()):
        for case in ("fires", "silent"):
            if any((rule_dir / case / "repo" / ".github" / "workflows").glob("*.y*ml")):
                out.append((rule_dir.name, case))
    return out


def _workflows(rule: str, case: str) -> list[Path]:
    return sorted((RULES_FIXTURES / rule / case / "repo" / ".github" / "workflows").glob("*.y*ml"))


def test_corpus_has_at_least_sixty_workflow_patterns() -> None:
    files = [f for rule, case in _cases() for f in _workflows(rule, case)]
    assert len(files) >= 60, len(files)
    assert sum(1 for rule, case in _cases() if case == "silent") >= 10


@pytest.mark.parametrize(("rule", "case"), _cases())
def test_each_workflow_pattern(rule: str, case: str) -> None:
    report = scan_case(RULES_FIXTURES / rule / case)
    assert not report.errors, report.errors
    by_file: dict[str, list[str]] = {}
    for f in report.findings:
        if f.rule_id == rule and f.location is not None:
            by_file.setdefault(Path(f.location.path).name, []).append(f.severity.value)
    problems = []
    for path in _workflows(rule, case):
        got = by_file.get(path.name, [])
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
