"""Inline ignores in CI files, through the installed command: `# nhiscan: ignore[rule] reason`
waives the finding on its line (or on the line below a comment-only line) like a waivers file does;
an ignore without a reason, or naming an unknown rule, waives nothing and is an error (exit 2)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import AS_OF, run_cli

WORKFLOW = """\
name: release
on: push
permissions: write-all{same_line}
jobs:
  tag:
    runs-on: ubuntu-latest
    steps:
      - run: |
          {above}
          echo "${{{{ secrets.DEPLOY_TOKEN }}}}" | base64
"""


def _repo(tmp_path: Path, same_line: str = "", above: str = "true") -> Path:
    wf = tmp_path / "repo" / ".github" / "workflows"
    wf.mkdir(parents=True)
    (wf / "release.yml").write_text(WORKFLOW.format(same_line=same_line, above=above))
    return tmp_path / "repo"


def _scan(repo: Path, *extra: str) -> tuple[int, dict, str]:  # type: ignore[type-arg]
    out = repo.parent / "out.json"
    res = run_cli("scan", str(repo), "--as-of", AS_OF, "--format", "json", "-o", str(out), *extra)
    return res.code, json.loads(out.read_text()), res.stderr


def _by_rule(result: dict, rule: str) -> dict:  # type: ignore[type-arg]
    hits = [f for f in result["findings"] if f["rule_id"] == rule]
    assert len(hits) == 1, hits
    return hits[0]


def test_ignores_with_reasons_waive_on_the_line_and_below_a_comment(tmp_path: Path) -> None:
    repo = _repo(
        tmp_path,
        same_line="  # nhiscan: ignore[gha-permissions-write-all] release tags need contents write",
        above="# nhiscan: ignore[gha-secret-echoed] debugging a broken token, removed after #123",
    )
    code, result, stderr = _scan(repo, "--fail-on", "high")
    assert code == 0, stderr
    write_all = _by_rule(result, "gha-permissions-write-all")
    assert write_all["waived"] is True
    assert write_all["waiver"]["kind"] == "inline-ignore"
    assert write_all["waiver"]["reason"] == "release tags need contents write"
    assert write_all["waiver"]["source"] == ".github/workflows/release.yml:3"
    echoed = _by_rule(result, "gha-secret-echoed")
    assert echoed["waived"] is True and echoed["severity"] == "high"
    assert echoed["waiver"]["source"] == ".github/workflows/release.yml:9"


def test_an_ignore_names_the_rule_it_waives(tmp_path: Path) -> None:
    repo = _repo(tmp_path, same_line="  # nhiscan: ignore[gha-secret-echoed] wrong rule on this line")
    code, result, _ = _scan(repo, "--fail-on", "high")
    assert code == 1
    assert _by_rule(result, "gha-permissions-write-all")["waived"] is False


def test_an_ignore_without_reason_is_refused(tmp_path: Path) -> None:
    repo = _repo(tmp_path, above="# nhiscan: ignore[gha-secret-echoed]")
    code, result, stderr = _scan(repo)
    assert code == 2
    assert _by_rule(result, "gha-secret-echoed")["waived"] is False
    errors = [ln for ln in stderr.splitlines() if ln.startswith("nhiscan: error:")]
    assert len(errors) == 1, stderr
    assert "release.yml: line 9: inline ignore of gha-secret-echoed gives no reason; not applied" in errors[0]


def test_an_ignore_of_an_unknown_rule_is_refused(tmp_path: Path) -> None:
    repo = _repo(tmp_path, same_line="  # nhiscan: ignore[gha-permisions-write-all] typo in the id")
    code, result, stderr = _scan(repo)
    assert code == 2
    assert _by_rule(result, "gha-permissions-write-all")["waived"] is False
    assert "unknown rule(s) gha-permisions-write-all" in stderr


def test_sarif_marks_inline_ignores_in_source(tmp_path: Path) -> None:
    repo = _repo(tmp_path, same_line="  # nhiscan: ignore[gha-permissions-write-all] accepted for releases")
    out = tmp_path / "out.sarif"
    res = run_cli("scan", str(repo), "--as-of", AS_OF, "--format", "sarif", "-o", str(out))
    assert res.code in (0, 1), res.stderr
    results = json.loads(out.read_text())["runs"][0]["results"]
    waived = [r for r in results if r["ruleId"] == "gha-permissions-write-all"]
    assert waived and waived[0]["suppressions"][0]["kind"] == "inSource"
    assert waived[0]["suppressions"][0]["justification"] == "accepted for releases"


def test_a_secret_line_marker_in_a_workflow_is_not_a_ci_problem(tmp_path: Path) -> None:
    """`nhiscan:ignore reason` without brackets is the secret scan's marker: the CI checks leave it
    alone (no refusal, no exit 2) and it waives nothing of theirs."""
    repo = _repo(tmp_path, same_line="  # nhiscan:ignore accepted for the release job")
    code, result, stderr = _scan(repo, "--fail-on", "none")
    assert code == 0, stderr
    assert "inline ignore" not in stderr
    # CI findings are waived only by a marker that names them: a blanket one could hide a new rule.
    assert _by_rule(result, "gha-permissions-write-all")["waived"] is False
