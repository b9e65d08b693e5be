"""Blinding by permissions: a directory or file nhiscan may not read is one error naming it (exit 2),
never a traceback, never a silent gap, and everything else is still scanned and reported.

The CLI runs with file modes enforced (tests/hostile/no_dac.py), so the denial is real as root too.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.hostile.fakes import aws_pair, leak
from tests.hostile.harness import GOOD_EXPORT, hostile_scan
from tests.hostile.no_dac import denied  # noqa: F401  (fixture)
from tests.repo.conftest import git

pytestmark = pytest.mark.usefixtures("denied")  # file modes enforced, also as root

R = random.Random(2026_12_01)


@contextmanager
def locked(*paths: Path) -> Iterator[None]:
    """Mode 000 for the duration (restored so pytest can clean tmp_path up)."""
    modes = [p.stat().st_mode & 0o7777 for p in paths]
    for p in paths:
        p.chmod(0)
    try:
        yield
    finally:
        for p, mode in zip(paths, modes, strict=True):
            p.chmod(mode)


def tree_with_locked_dir(root: Path, in_git: bool) -> tuple[Path, str, str]:
    """A tree with a readable leak in app.py and another in hidden/deep/creds.py (to be locked)."""
    tree = root / "repo"
    (tree / "hidden" / "deep").mkdir(parents=True)
    visible, hidden = aws_pair(R), aws_pair(R)
    (tree / "app.py").write_text(leak(*visible), "utf-8")
    (tree / "hidden" / "deep" / "creds.py").write_text(leak(*hidden), "utf-8")
    if in_git:
        git(tree, "init", "-q", "-b", "main")
        git(tree, "add", "-A")
        git(tree, "commit", "-qm", "init")
    return tree, visible[0], hidden[1]


def cloud_key_paths(res: object) -> set[str]:
    findings = res.findings("secret-cloud-key")  # type: ignore[attr-defined]
    return {f["location"]["path"] for f in findings}


@pytest.mark.parametrize(
    ("in_git", "history"),
    [(True, False), (True, True), (False, False)],
    ids=["git-work-tree", "git-history", "plain-dir"],
)
def test_unreadable_directory_is_one_error_and_the_rest_is_scanned(
    tmp_path: Path, in_git: bool, history: bool
) -> None:
    tree, visible_id, hidden_secret = tree_with_locked_dir(tmp_path, in_git)
    args = [str(tree)] + (["--history"] if history else [])
    with locked(tree / "hidden"):
        res = hostile_scan(tmp_path, *args, expect_code=2, timeout=120)
    assert res.errors == [f"nhiscan: error: {tree}/hidden: cannot list directory: Permission denied"]
    assert "app.py" in cloud_key_paths(res)
    assert visible_id in json.dumps(res.result["findings"])
    if history:
        # the committed file under the locked directory is still found in history (from git objects)
        hist = [f for f in res.findings("secret-cloud-key") if f["location"].get("commit")]
        places = {(f["location"]["path"], f["location"]["in_tree"]) for f in hist}
        # app.py's key is in the scanned tree too; the locked file's could not be read there
        assert places == {("app.py", True), ("hidden/deep/creds.py", False)}, res.cli.stderr
    else:
        assert "hidden/deep/creds.py" not in cloud_key_paths(res)
    assert hidden_secret not in res.cli.stdout + res.cli.stderr


def test_unreadable_directory_in_a_subdirectory_path_of_a_work_tree(tmp_path: Path) -> None:
    """git names unreadable directories from the top of the work tree; errors name them from PATH."""
    tree, _, _ = tree_with_locked_dir(tmp_path, in_git=True)
    with locked(tree / "hidden" / "deep"):
        res = hostile_scan(tmp_path, str(tree / "hidden"), expect_code=2, timeout=120)
    assert res.errors == [f"nhiscan: error: {tree}/hidden/deep: cannot list directory: Permission denied"]


@pytest.mark.parametrize("in_git", [True, False], ids=["git-work-tree", "plain-dir"])
def test_unreadable_file_is_one_error_and_the_rest_is_scanned(tmp_path: Path, in_git: bool) -> None:
    tree, _, _ = tree_with_locked_dir(tmp_path, in_git)
    with locked(tree / "hidden" / "deep" / "creds.py"):
        res = hostile_scan(tmp_path, str(tree), expect_code=2, timeout=120)
    assert res.errors == [f"nhiscan: error: {tree}/hidden/deep/creds.py: cannot read: Permission denied"]
    assert "app.py" in cloud_key_paths(res)


def test_unreadable_scan_root_is_one_error(tmp_path: Path) -> None:
    tree, _, _ = tree_with_locked_dir(tmp_path, in_git=False)
    with locked(tree):
        res = hostile_scan(tmp_path, str(tree), expect_code=2, timeout=120)
    assert res.errors == [f"nhiscan: error: {tree}: cannot list directory: Permission denied"]


def test_unreadable_input_directory_and_files(tmp_path: Path) -> None:
    """--input: a directory that cannot be listed, a file in it, a file that cannot be read, and a
    file inside a directory that may not be searched: one error each; the good export is read."""
    locked_dir = tmp_path / "exports-locked"
    locked_dir.mkdir()
    (locked_dir / "gaad.json").write_bytes(GOOD_EXPORT.read_bytes())
    mixed = tmp_path / "exports"
    mixed.mkdir()
    (mixed / "good.json").write_bytes(GOOD_EXPORT.read_bytes())
    (mixed / "noread.json").write_bytes(GOOD_EXPORT.read_bytes())
    single = tmp_path / "single.json"
    single.write_bytes(GOOD_EXPORT.read_bytes())
    with locked(locked_dir, mixed / "noread.json", single):
        res = hostile_scan(
            tmp_path,
            "--input",
            str(locked_dir),
            "--input",
            str(locked_dir / "gaad.json"),
            "--input",
            str(mixed),
            "--input",
            str(single),
            expect_code=2,
            timeout=120,
            good_export=False,
        )
    assert sorted(res.errors) == sorted(
        [
            f"nhiscan: error: {locked_dir}: cannot list directory: Permission denied",
            f"nhiscan: error: {locked_dir}/gaad.json: cannot read: Permission denied",
            f"nhiscan: error: {mixed}/noread.json: cannot read: Permission denied",
            f"nhiscan: error: {single}: cannot read: Permission denied",
        ]
    ), res.cli.stderr
    # the readable export in the same directory is still read
    assert res.result["identities"], res.cli.stderr


def test_unreadable_file_paths_are_one_error_each(tmp_path: Path) -> None:
    """A PATH that is a file nhiscan may not read, or a file inside a directory it may not search,
    is named as given (not as PATH/file)."""
    tree, _, _ = tree_with_locked_dir(tmp_path, in_git=False)
    noread = tree / "app.py"
    hidden = tree / "hidden" / "deep" / "creds.py"
    with locked(noread, tree / "hidden"):
        res = hostile_scan(tmp_path, str(noread), str(hidden), expect_code=2, timeout=120)
    assert sorted(res.errors) == sorted(
        [
            f"nhiscan: error: {hidden}: cannot read: Permission denied",
            f"nhiscan: error: {noread}: cannot read: Permission denied",
        ]
    )
