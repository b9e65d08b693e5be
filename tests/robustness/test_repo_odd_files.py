"""The repository scanner against odd files: no traceback, no hang, the rest still scanned, and a
clear one-line error where a config file is broken."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import AS_OF, FIXTURES, run_cli
from tests.hostile.no_dac import run_cli_denied

SECRET_LINE = (FIXTURES / "repos" / "acme-web" / "app" / "settings.py").read_text("utf-8")


def _odd_tree(root: Path) -> Path:
    tree = root / "repo"
    shutil.copytree(FIXTURES / "repos" / "acme-web", tree)
    wf = tree / ".github" / "workflows"
    wf.mkdir(parents=True)
    # YAML 1.1 reads `on:` as the key True and `on: true` as True: a real-world quirk, not an error
    (wf / "on-true.yml").write_text(
        "on: true\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: make\n", "utf-8"
    )
    (wf / "broken.yml").write_text("on: push\njobs: [\n  a: b\n", "utf-8")
    (tree / ".gitlab-ci.yml").write_text("stages: [\n", "utf-8")
    (tree / ".mcp.json").write_text('{"mcpServers": {', "utf-8")
    (tree / "broken-link").symlink_to(root / "nonexistent")
    (tree / "loop1").symlink_to(tree / "loop2")
    (tree / "loop2").symlink_to(tree / "loop1")
    outside = root / "outside"
    outside.mkdir()
    (outside / "leak.py").write_text(SECRET_LINE, "utf-8")
    (tree / "outside-dir").symlink_to(outside, target_is_directory=True)
    os.mkfifo(tree / "fifo")
    # names a POSIX filesystem allows: a newline, bytes that are not UTF-8
    with open(os.path.join(os.fsencode(tree), b"new\nline.py"), "w", encoding="utf-8") as fh:
        fh.write(SECRET_LINE)
    with open(os.path.join(os.fsencode(tree), b"bad\xffname.py"), "w", encoding="utf-8") as fh:
        fh.write(SECRET_LINE)
    return tree


BROKEN = {".github/workflows/broken.yml", ".gitlab-ci.yml", ".mcp.json"}


@pytest.mark.parametrize("git", [False, True], ids=["plain-dir", "git-work-tree"])
def test_odd_files_do_not_stop_the_repo_scan(git: bool, tmp_path: Path) -> None:
    tree = _odd_tree(tmp_path)
    if git:
        env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@e", "GIT_COMMITTER_NAME": "t"}
        env["GIT_COMMITTER_EMAIL"] = "t@e"
        subprocess.run(["git", "init", "-q"], cwd=tree, check=True, env=env)
        subprocess.run(["git", "add", "-A"], cwd=tree, check=False, env=env, capture_output=True)
        subprocess.run(["git", "commit", "-qm", "odd"], cwd=tree, check=False, env=env, capture_output=True)
    out = tmp_path / "result.json"
    args = ("scan", str(tree), "--as-of", AS_OF, "--format", "json", "--fail-on", "none", "-o", str(out))
    res = run_cli(*args, timeout=120)  # a FIFO or a symlink loop must not hang the scan
    assert "Traceback" not in res.stderr, res.stderr
    assert res.code == 2, res.stderr
    errors = [ln for ln in res.stderr.splitlines() if ln.startswith("nhiscan: error:")]
    named = {ln.split(": ")[2].removeprefix(str(tree) + "/") for ln in errors}
    assert named == BROKEN, res.stderr
    assert any("invalid JSON" in ln and ".mcp.json" in ln for ln in errors), errors
    result = json.loads(out.read_text("utf-8"))
    rules = {f["rule_id"] for f in result["findings"]}
    assert "secret-cloud-key" in rules  # app/settings.py is still scanned
    assert "gha-missing-permissions" in rules  # the `on: true` workflow is read, not an error
    paths = {(f["location"] or {}).get("path", "") for f in result["findings"]}
    assert not any("leak.py" in p for p in paths), "followed a directory symlink out of the tree"
    # odd names are scanned and shown escaped: one line, encodable in every report format
    assert "new\\nline.py" in paths and "bad\\xffname.py" in paths, paths
    for fmt in ("table", "sarif", "csv", "markdown", "html"):
        other = tmp_path / f"result.{fmt}"
        res = run_cli(*args[:4], "--format", fmt, "--fail-on", "none", "-o", str(other), timeout=120)
        assert "Traceback" not in res.stderr and res.code == 2, (fmt, res.stderr)
        assert "xffname.py" in other.read_text("utf-8"), fmt  # escaped as JSON, URL or HTML wants


def test_unreadable_file_is_not_a_crash(tmp_path: Path) -> None:
    tree = tmp_path / "repo"
    tree.mkdir()
    (tree / "app.py").write_text(SECRET_LINE, "utf-8")
    (tree / "secret.py").write_text(SECRET_LINE, "utf-8")
    (tree / "secret.py").chmod(0)
    try:
        # as root too: the CLI runs without the capabilities that let root ignore file modes
        res = run_cli_denied("scan", str(tree), "--as-of", AS_OF, "--format", "json", "--fail-on", "none")
    finally:
        (tree / "secret.py").chmod(0o600)
    assert "Traceback" not in res.stderr, res.stderr
    assert res.code == 2
    assert res.stderr.splitlines() == [f"nhiscan: error: {tree}/secret.py: cannot read: Permission denied"]
    assert "secret-cloud-key" in {f["rule_id"] for f in res.json()["findings"]}
