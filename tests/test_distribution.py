"""The GitHub Action (action.yml) and the pre-commit hook (.pre-commit-hooks.yaml) are wired correctly.

Besides static checks, the action's own shell steps are executed here with the environment GitHub
would give them (GITHUB_OUTPUT, GITHUB_STEP_SUMMARY, RUNNER_TEMP) and the installed nhiscan.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import string
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import AS_OF, FIXTURES, ROOT, nhiscan_exe

ACTION = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
SCRIPT = ROOT / ".github" / "nhiscan-action.sh"  # the action's shell steps
HOOKS = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
NO_OWNER = FIXTURES / "rules" / "nhi-no-owner" / "fires" / "inventory.json"
EXPR = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


def _strings(node: Any) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for v in node.values() for s in _strings(v)]
    if isinstance(node, list):
        return [s for v in node for s in _strings(v)]
    return []


def _step(name: str) -> dict[str, Any]:
    step: dict[str, Any] = next(s for s in ACTION["runs"]["steps"] if s.get("name") == name)
    return step


def test_action_is_composite_and_every_referenced_input_and_step_exists() -> None:
    assert ACTION["runs"]["using"] == "composite"
    inputs = set(ACTION["inputs"])
    step_ids = {s["id"] for s in ACTION["runs"]["steps"] if "id" in s}
    referenced_inputs: set[str] = set()
    for text in _strings(ACTION["runs"]) + _strings(ACTION["outputs"]):
        for expr in EXPR.findall(text):
            referenced_inputs |= set(re.findall(r"inputs\.([A-Za-z0-9_-]+)", expr))
            for sid in re.findall(r"steps\.([A-Za-z0-9_-]+)\.outputs", expr):
                assert sid in step_ids, f"unknown step id {sid}"
    assert referenced_inputs and referenced_inputs <= inputs, referenced_inputs - inputs
    unused = inputs - referenced_inputs
    assert not unused, f"inputs never used: {unused}"
    for name, spec in ACTION["inputs"].items():
        assert spec.get("description"), name
    for step in ACTION["runs"]["steps"]:
        if "run" in step:
            assert step.get("shell") == "bash", step["name"]
            assert "${{" not in step["run"], f"{step['name']}: expressions belong in env, not the script"


def test_action_steps_do_what_the_readme_promises() -> None:
    steps = ACTION["runs"]["steps"]
    uses = [s.get("uses", "") for s in steps]
    assert any(u.startswith("actions/setup-python@") for u in uses)
    assert "$GITHUB_ACTION_PATH" in _step("Install nhiscan")["run"]
    scan = _step("Scan")
    assert scan["run"] == 'bash "$GITHUB_ACTION_PATH/.github/nhiscan-action.sh" scan'
    script = SCRIPT.read_text(encoding="utf-8")
    assert "nhiscan scan" in script and "--fail-on" in script
    assert "--format sarif" in script and "GITHUB_STEP_SUMMARY" in script
    assert "nhiscan diff" in script
    upload = _step("Upload SARIF to code scanning")
    assert upload["uses"].startswith("github/codeql-action/upload-sarif@")
    assert upload["with"]["sarif_file"] == "${{ inputs.sarif-file }}"
    assert "always()" in upload["if"]
    last = steps[-1]
    assert last["env"]["NHISCAN_EXIT"] == "${{ steps.scan.outputs.exit-code }}"
    assert last["run"] == 'bash "$GITHUB_ACTION_PATH/.github/nhiscan-action.sh" gate'
    assert 'exit "${NHISCAN_EXIT' in script
    # the upload happens before the job fails
    assert steps.index(upload) < steps.index(last)


def _run_step(step: dict[str, Any], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    bash = shutil.which("bash")
    assert bash
    return subprocess.run(
        [bash, "--noprofile", "--norc", "-e", "-o", "pipefail", "-c", step["run"]],  # as GitHub runs them
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(("fail_on", "expected"), [("low", 1), ("high", 0)])
def test_action_scan_and_threshold_steps_run(tmp_path: Path, fail_on: str, expected: int) -> None:
    out, summary, temp = tmp_path / "out", tmp_path / "summary.md", tmp_path / "tmp"
    temp.mkdir()
    env = {
        **os.environ,
        "PATH": f"{Path(nhiscan_exe()).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "GITHUB_ACTION_PATH": str(ROOT),
        "GITHUB_OUTPUT": str(out),
        "GITHUB_STEP_SUMMARY": str(summary),
        "RUNNER_TEMP": str(temp),
        "NHISCAN_PATHS": "",
        "NHISCAN_INPUTS": str(NO_OWNER),
        "NHISCAN_FAIL_ON": fail_on,
        "NHISCAN_ARGS": f"--as-of {AS_OF}",
        "NHISCAN_SARIF": "nhiscan.sarif",
    }
    res = _run_step(_step("Scan"), env, tmp_path)
    assert res.returncode == 0, res.stderr
    outputs = dict(line.split("=", 1) for line in out.read_text().splitlines())
    assert outputs["exit-code"] == str(expected)
    sarif = json.loads((tmp_path / "nhiscan.sarif").read_text(encoding="utf-8"))
    assert sarif["runs"][0]["results"][0]["ruleId"] == "nhi-no-owner"
    assert "## nhiscan" in summary.read_text(encoding="utf-8")
    final = _run_step(ACTION["runs"]["steps"][-1], {**env, "NHISCAN_EXIT": outputs["exit-code"]}, tmp_path)
    assert final.returncode == expected


def test_action_scan_step_reports_input_errors(tmp_path: Path) -> None:
    out, summary = tmp_path / "out", tmp_path / "summary.md"
    env = {
        **os.environ,
        "PATH": f"{Path(nhiscan_exe()).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "GITHUB_ACTION_PATH": str(ROOT),
        "GITHUB_OUTPUT": str(out),
        "GITHUB_STEP_SUMMARY": str(summary),
        "RUNNER_TEMP": str(tmp_path),
        "NHISCAN_PATHS": "",
        "NHISCAN_INPUTS": str(tmp_path / "missing.json"),
        "NHISCAN_FAIL_ON": "high",
        "NHISCAN_ARGS": "",
        "NHISCAN_SARIF": "out.sarif",
    }
    res = _run_step(_step("Scan"), env, tmp_path)
    assert res.returncode == 0
    assert "exit-code=2" in out.read_text()
    assert "missing.json" in res.stderr


def test_pre_commit_hook_definition() -> None:
    assert isinstance(HOOKS, list) and len(HOOKS) == 1
    hook = HOOKS[0]
    assert hook["id"] == "nhiscan"
    assert hook["entry"] == "nhiscan scan"
    assert hook["language"] == "python"
    assert hook["pass_filenames"] is False and hook["always_run"] is True
    args = hook["args"]
    assert args[args.index("--fail-on") + 1] == "high"
    assert "." in args
    # the entry point the hook calls is the one the package installs
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert 'nhiscan = "nhiscan.cli:main"' in pyproject


def test_pre_commit_hook_command_fails_on_high(tmp_path: Path) -> None:
    """The hook's exact command line: exit 0 on a clean tree, and its --fail-on is honoured."""
    hook = HOOKS[0]
    argv = [nhiscan_exe(), *hook["entry"].split()[1:], *hook["args"]]
    (tmp_path / "README.md").write_text("hello\n", encoding="utf-8")
    proc = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    # a leaked high-severity secret in the tree makes the same command fail the commit
    key_id = "AKIA" + "".join(random.choice(string.ascii_uppercase + "234567") for _ in range(16))
    secret = "".join(random.choice(string.ascii_letters + string.digits + "+/") for _ in range(40))
    (tmp_path / "deploy.env").write_text(
        f"AWS_ACCESS_KEY_ID={key_id}\nAWS_SECRET_ACCESS_KEY={secret}\n", encoding="utf-8"
    )
    proc = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stderr
    assert secret not in proc.stdout + proc.stderr
