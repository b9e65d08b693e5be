"""The GitHub Action compares a pull request with its base branch (.github/nhiscan-action.sh).

Run here as GitHub runs it: the action's own steps from action.yml, with GITHUB_OUTPUT,
GITHUB_STEP_SUMMARY and RUNNER_TEMP as files, GITHUB_BASE_REF as on a pull_request event, and a real
git checkout whose origin (a bare repository on disk) has the base branch. The pull request fixes one
problem (a leaked key removed from a Terraform file) and brings one (an AWS key aged in the committed
exports): the job summary starts with exactly that diff, and the job fails on the new one only.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import AS_OF, FIXTURES, ROOT, nhiscan_exe
from tests.e2e.test_diff_cli import FIXED, NEW, fix_and_break

ACTION = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
GIT_ENV = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.com",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.com",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}


def git(*args: str, cwd: Path) -> str:
    res = subprocess.run(
        ["git", *args], cwd=cwd, env={**os.environ, **GIT_ENV}, capture_output=True, text=True, timeout=60
    )
    assert res.returncode == 0, res.stderr
    return res.stdout.strip()


@pytest.fixture(scope="module")
def origin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A bare repository with `main` (acme-infra and the acme-prod exports) and `feature` (one
    problem fixed, one new), as GitHub holds a repository with an open pull request."""
    root = tmp_path_factory.mktemp("origin")
    work = root / "seed"
    work.mkdir()
    git("init", "-q", "-b", "main", cwd=work)
    shutil.copytree(FIXTURES / "repos" / "acme-infra", work / "acme-infra")
    shutil.copytree(FIXTURES / "aws" / "acme-prod", work / "acme-prod")
    git("add", "-A", cwd=work)
    git("commit", "-q", "-m", "base", cwd=work)
    git("checkout", "-q", "-b", "feature", cwd=work)
    fix_and_break(work)
    git("commit", "-q", "-am", "fix one, break one", cwd=work)
    bare = root / "acme.git"
    git("clone", "-q", "--bare", str(work), str(bare), cwd=root)
    return bare


def checkout(origin: Path, dest: Path, *, shallow: bool) -> Path:
    """The pull request's head, as actions/checkout leaves it (shallow: the default fetch-depth 1)."""
    opts = ["--depth", "1"] if shallow else []
    git("clone", "-q", *opts, "--branch", "feature", f"file://{origin}", str(dest), cwd=dest.parent)
    return dest


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    temp = tmp_path / "runner-temp"
    temp.mkdir(exist_ok=True)
    return {
        **os.environ,
        **GIT_ENV,
        "PATH": f"{Path(nhiscan_exe()).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "GITHUB_ACTION_PATH": str(ROOT),
        "GITHUB_OUTPUT": str(tmp_path / "output"),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
        "RUNNER_TEMP": str(temp),
        "GITHUB_EVENT_NAME": "pull_request",
        "GITHUB_BASE_REF": "main",
        "NHISCAN_PATHS": "acme-infra",
        "NHISCAN_INPUTS": "acme-prod",
        "NHISCAN_FAIL_ON": "high",
        "NHISCAN_ARGS": f"--as-of {AS_OF}",
        "NHISCAN_SARIF": "nhiscan.sarif",
        "NHISCAN_BASE_RESULT": "",
        "NHISCAN_COMPARE_TO_BASE": "true",
        "NHISCAN_BASE_REF": "",
        **extra,
    }


def _step(name: str) -> dict[str, Any]:
    step: dict[str, Any] = next(s for s in ACTION["runs"]["steps"] if s.get("name") == name)
    return step


def run_step(name: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    bash = shutil.which("bash")
    assert bash
    return subprocess.run(
        [bash, "--noprofile", "--norc", "-e", "-o", "pipefail", "-c", _step(name)["run"]],  # as GitHub does
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def outputs(env: dict[str, str]) -> dict[str, str]:
    return dict(line.split("=", 1) for line in Path(env["GITHUB_OUTPUT"]).read_text().splitlines())


@pytest.mark.parametrize("shallow", [True, False], ids=["shallow-fetches-base", "base-present"])
def test_pull_request_is_compared_with_its_base_branch(origin: Path, tmp_path: Path, shallow: bool) -> None:
    repo = checkout(origin, tmp_path / "acme", shallow=shallow)
    env = _env(tmp_path)
    res = run_step("Scan", env, repo)
    assert res.returncode == 0, res.stdout + res.stderr
    out = outputs(env)
    assert out["compared"] == "true", res.stdout + res.stderr
    assert out["scan-exit-code"] == "1"  # the tree still has high and critical findings
    assert out["diff-exit-code"] == out["exit-code"] == "1"  # one of them is new and high

    diff = json.loads(Path(out["diff-file"]).read_text(encoding="utf-8"))
    assert [(f["rule_id"], f["identity_id"]) for f in diff["findings"]["new"]] == [NEW]
    assert [(f["rule_id"], f["location"]["path"]) for f in diff["findings"]["resolved"]] == [FIXED]
    assert diff["findings"]["changed"] == [] and diff["warnings"] == []

    summary = Path(env["GITHUB_STEP_SUMMARY"]).read_text(encoding="utf-8")
    assert summary.startswith("## nhiscan diff: what changed\n"), summary[:300]
    assert "### New findings (1)" in summary and "### Resolved findings (1)" in summary
    assert "_Compared with the base: main (" in summary
    assert summary.index("## nhiscan diff") < summary.index("## nhiscan: non-human identity scan")
    assert json.loads((repo / "nhiscan.sarif").read_text(encoding="utf-8"))["runs"][0]["results"]
    # the base branch's worktree is gone again, and the checkout is as it was
    assert git("worktree", "list", "--porcelain", cwd=repo).count("worktree ") == 1
    assert git("status", "--porcelain", "--untracked-files=no", cwd=repo) == ""

    gate = run_step(
        "Apply the fail-on threshold",
        {**env, "NHISCAN_EXIT": out["exit-code"], "NHISCAN_COMPARED": "true"},
        repo,
    )
    assert gate.returncode == 1
    assert "new or worse findings since the base" in gate.stdout


def test_only_new_findings_gate_the_job(origin: Path, tmp_path: Path) -> None:
    """fail-on critical: the tree has critical findings, but none is new, so the job passes."""
    repo = checkout(origin, tmp_path / "acme", shallow=True)
    env = _env(tmp_path, NHISCAN_FAIL_ON="critical")
    assert run_step("Scan", env, repo).returncode == 0
    out = outputs(env)
    assert out["scan-exit-code"] == "1" and out["exit-code"] == "0" and out["compared"] == "true"
    gate = run_step(
        "Apply the fail-on threshold", {**env, "NHISCAN_EXIT": "0", "NHISCAN_COMPARED": "true"}, repo
    )
    assert gate.returncode == 0
    assert "✅ No new or worse finding at or above critical." in Path(env["GITHUB_STEP_SUMMARY"]).read_text(
        "utf-8"
    )


def test_a_saved_base_result_is_compared(origin: Path, tmp_path: Path) -> None:
    """base-result: a result of the base branch saved earlier (e.g. an artifact of its last run)."""
    base = checkout(origin, tmp_path / "base-checkout", shallow=True)
    git("fetch", "-q", "--depth", "1", "origin", "main", cwd=base)
    git("checkout", "-q", "FETCH_HEAD", cwd=base)
    saved = tmp_path / "main-result.json"
    res = subprocess.run(
        [nhiscan_exe(), "scan", "acme-infra", "--input", "acme-prod", "--as-of", AS_OF, "--fail-on", "none",
         "--format", "json", "-o", str(saved)],
        cwd=base, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    repo = checkout(origin, tmp_path / "acme", shallow=True)
    env = _env(tmp_path, NHISCAN_BASE_RESULT=str(saved), NHISCAN_COMPARE_TO_BASE="false", GITHUB_BASE_REF="")
    assert run_step("Scan", env, repo).returncode == 0
    out = outputs(env)
    assert out["compared"] == "true" and out["exit-code"] == "1"
    diff = json.loads(Path(out["diff-file"]).read_text(encoding="utf-8"))
    assert (len(diff["findings"]["new"]), len(diff["findings"]["resolved"])) == (1, 1)


@pytest.mark.parametrize(
    ("extra", "note"),
    [
        ({"GITHUB_BASE_REF": "", "GITHUB_EVENT_NAME": "push"}, "compare-to-base: no base branch"),
        ({"GITHUB_BASE_REF": "no-such-branch"}, "cannot find or fetch no-such-branch"),
        ({"NHISCAN_BASE_RESULT": "missing.json"}, "base-result: missing.json not found"),
        ({"GITHUB_BASE_REF": "x<img src=y>"}, "cannot find or fetch x"),
    ],
)
def test_without_a_base_every_finding_counts(
    origin: Path, tmp_path: Path, extra: dict[str, str], note: str
) -> None:
    repo = checkout(origin, tmp_path / "acme", shallow=True)
    env = _env(tmp_path, **extra)
    res = run_step("Scan", env, repo)
    assert res.returncode == 0
    out = outputs(env)
    assert out["compared"] == "false" and out["exit-code"] == out["scan-exit-code"] == "1"
    assert "diff-file" not in out
    summary = Path(env["GITHUB_STEP_SUMMARY"]).read_text(encoding="utf-8")
    assert note in summary and note in res.stdout
    assert re.search(r"(?<!\\)<img", summary) is None  # a name's Markdown or HTML is shown, never rendered
    assert "## nhiscan: non-human identity scan" in summary


def test_input_values_cannot_inject_shell(origin: Path, tmp_path: Path) -> None:
    """Inputs are data: a crafted base-ref or input path is a value, never code."""
    repo = checkout(origin, tmp_path / "acme", shallow=True)
    marker = tmp_path / "pwned"
    env = _env(
        tmp_path, NHISCAN_BASE_REF=f"main$(touch {marker})", NHISCAN_INPUTS=f"acme-prod;touch${{IFS}}{marker}"
    )
    run_step("Scan", env, repo)
    assert not marker.exists()
